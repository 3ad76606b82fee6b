/**
 * A step's `metadata` reaches Kubernetes: its labels and annotations are on the Job and on
 * its pod, beside the plugin's own (the Buildkite facts under `buildkite/`), and a label
 * selector finds the pod by them.
 */
import assert from "node:assert/strict";
import type { Job, KubeList, Pod } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";

Deno.test("labels and annotations of metadata are on the Job and its pod", async () => {
  await using namespace = await freshNamespace();
  const owner = "Team CI <ci@example.com>";
  const result = await runStep({
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      // Kept after the step, to be read here.
      "job-cleanup-after-finished-via-plugin": false,
      metadata: {
        labels: { team: "ci", "example.com/cost-centre": "a-1_b.2" },
        annotations: { "example.com/owner": owner },
      },
    },
    command: "true",
    env: {
      BUILDKITE_BUILD_URL: "https://buildkite.com/acme/scenario/builds/1",
      BUILDKITE_STEP_KEY: "unit",
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const api = testCluster().api;
  const selector = "team=ci,example.com/cost-centre=a-1_b.2";
  const jobs = await api.get<KubeList<Job>>(
    `/apis/batch/v1/namespaces/${namespace.name}/jobs?labelSelector=${selector}`,
  );
  const pods = await api.get<KubeList<Pod>>(
    `/api/v1/namespaces/${namespace.name}/pods?labelSelector=${selector}`,
  );
  assert.equal(jobs.items.length, 1, "the Job found by the labels");
  assert.equal(pods.items.length, 1, "the pod found by the labels");
  for (const { metadata } of [jobs.items[0], pods.items[0]]) {
    assert.equal(metadata.annotations?.["example.com/owner"], owner);
    assert.equal(metadata.labels?.["buildkite/job-id"], result.jobId);
    assert.equal(metadata.labels?.["buildkite/plugin"], "kubernetes");
    assert.equal(metadata.labels?.["buildkite/pipeline"], "scenario");
    assert.equal(
      metadata.annotations?.["buildkite/build-url"],
      "https://buildkite.com/acme/scenario/builds/1",
    );
    assert.equal(metadata.annotations?.["buildkite/step-key"], "unit");
  }
});
