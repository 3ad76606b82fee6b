import assert from "node:assert/strict";
import type { Job, Pod } from "./kube_types.ts";
import { freshNamespace, readPodLog, testCluster, waitFor, waitForPod } from "./testing.ts";

const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (.*)$/;

Deno.test("a Job whose pod exits 3 fails with exit code 3 and its log stays readable", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  // A second between lines, so a sinceTime (which the API server cuts to whole seconds)
  // can fall between two of them.
  await cluster.api.post(`/apis/batch/v1/namespaces/${ns}/jobs`, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "exits-3" },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          containers: [{
            name: "step",
            image: "alpine:3.20",
            command: [
              "sh",
              "-c",
              "echo one; sleep 1.2; echo two; sleep 1.2; echo three >&2; exit 3",
            ],
          }],
        },
      },
    },
  });
  const running = await waitForPod(
    cluster,
    ns,
    "batch.kubernetes.io/job-name=exits-3",
    (pod) => pod.status?.containerStatuses?.[0]?.state.running !== undefined,
    { timeoutMs: 60_000, description: "run" },
  );
  const podName = running.metadata.name!;
  const followed = await readPodLog(cluster, ns, podName, { follow: true, timestamps: true });
  const lines = followed.trimEnd().split("\n").map((line) => STAMPED.exec(line));
  assert.deepEqual(lines.map((match) => match?.[2]), ["one", "two", "three"]);

  const job = await waitFor<Job>(
    cluster.api,
    `/apis/batch/v1/namespaces/${ns}/jobs`,
    "exits-3",
    (job) =>
      job?.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True") ?? false,
    { timeoutMs: 60_000, description: "fail" },
  );
  const failed = job!.status!.conditions!.find((condition) => condition.type === "Failed");
  assert.equal(failed?.reason, "BackoffLimitExceeded");

  const pod = await waitFor<Pod>(
    cluster.api,
    `/api/v1/namespaces/${ns}/pods`,
    podName,
    (pod) => pod?.status?.phase === "Failed",
    { timeoutMs: 30_000, description: "be Failed" },
  );
  const terminated = pod!.status!.containerStatuses![0].state.terminated!;
  assert.equal(terminated.exitCode, 3);
  assert.equal(terminated.reason, "Error");

  const afterwards = await readPodLog(cluster, ns, podName, {});
  assert.equal(afterwards, "one\ntwo\nthree\n");
  const since = await readPodLog(cluster, ns, podName, {
    sinceTime: `${lines[1]![1].slice(0, 19)}Z`,
    timestamps: true,
  });
  assert.deepEqual(since.trimEnd().split("\n").map((line) => STAMPED.exec(line)?.[2]), [
    "two",
    "three",
  ]);
  assert.equal(await readPodLog(cluster, ns, podName, { tailLines: 1 }), "three\n");
});
