/**
 * A step whose pod Kubernetes evicts while the command runs (a drain, the cluster
 * autoscaler, a real Eviction API call here): the hook ends with 96 and says that Kubernetes
 * stopped the pod and why, not with the command's SIGTERM status; the command may have run,
 * so no new Job runs it again (whatever `lost-pod-retries` says); no Job is left.
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster, waitForPod } from "../cluster/testing.ts";
import { objectNames, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("a pod evicted through the Eviction API: 96, the eviction named", async () => {
  await using namespace = await freshNamespace();
  const jobId = newJobId();
  const running = waitForPod(
    testCluster(),
    namespace.name,
    `buildkite/job-id=${jobId}`,
    (pod: Pod) => pod.status?.containerStatuses?.[0]?.state.running !== undefined,
    { timeoutMs: 60_000, description: "run" },
  );
  const step = runStep({
    jobId,
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "pod-spec-patch": { terminationGracePeriodSeconds: 2 },
    },
    command: "echo started\nsleep 300",
  });
  const pod = await running;
  await testCluster().api.post(
    `/api/v1/namespaces/${namespace.name}/pods/${pod.metadata.name}/eviction`,
    {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: pod.metadata.name, namespace: namespace.name },
    },
  );
  const result = await step;
  assert.equal(result.status, 96, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    new RegExp(
      `\\+\\+\\+ :kubernetes: The pod ${pod.metadata.name} was stopped by Kubernetes before ` +
        "the step finished \\(EvictionByEvictionAPI\\): ",
    ),
  );
  assert.doesNotMatch(result.stdout, /a new Job runs the step/);
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 60_000 });
});
