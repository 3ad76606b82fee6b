import assert from "node:assert/strict";
import type { Job, Pod } from "./kube_types.ts";
import { freshNamespace, testCluster, waitFor } from "./testing.ts";

Deno.test("a Job past its activeDeadlineSeconds fails with DeadlineExceeded", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const jobs = `/apis/batch/v1/namespaces/${namespace.name}/jobs`;
  await cluster.api.post(jobs, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "too-slow" },
    spec: {
      activeDeadlineSeconds: 2,
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 2,
          containers: [{ name: "step", image: "alpine:3.20", command: ["sleep", "300"] }],
        },
      },
    },
  });
  const job = await waitFor<Job>(
    cluster.api,
    jobs,
    "too-slow",
    (job) =>
      job?.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True") ?? false,
    { timeoutMs: 60_000, description: "fail" },
  );
  const failed = job!.status!.conditions!.find((condition) => condition.type === "Failed");
  assert.equal(failed?.reason, "DeadlineExceeded");
});

Deno.test("a pod past its activeDeadlineSeconds is killed and fails with DeadlineExceeded", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const pods = `/api/v1/namespaces/${namespace.name}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "deadline" },
    spec: {
      activeDeadlineSeconds: 2,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 2,
      containers: [{ name: "step", image: "alpine:3.20", command: ["sleep", "300"] }],
    },
  });
  // As on a real node the phase turns Failed first; the container is stopped after that.
  const pod = await waitFor<Pod>(
    cluster.api,
    pods,
    "deadline",
    (pod) =>
      pod?.status?.phase === "Failed" &&
      pod.status.containerStatuses?.[0]?.state.terminated !== undefined,
    { timeoutMs: 60_000, description: "fail and have its container stopped" },
  );
  assert.equal(pod!.status!.reason, "DeadlineExceeded");
  assert.equal(
    pod!.status!.message,
    "Pod was active on the node longer than the specified deadline",
  );
  // `sleep` is the container's PID 1, which the kernel spares SIGTERM it has no handler for:
  // the kubelet kills it when the grace period ends.
  const terminated = pod!.status!.containerStatuses![0].state.terminated!;
  assert.equal(terminated.exitCode, 137);
  assert.equal(terminated.reason, "Error");
});
