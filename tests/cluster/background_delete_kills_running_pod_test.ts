import assert from "node:assert/strict";
import type { Pod } from "./kube_types.ts";
import { processesWith } from "./processes.ts";
import { freshNamespace, testCluster, waitFor, waitForPod } from "./testing.ts";

Deno.test("deleting a Job with Background propagation kills its running pod", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const marker = `kbk-marker-${crypto.randomUUID()}`;
  await cluster.api.post(`/apis/batch/v1/namespaces/${ns}/jobs`, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "long-running" },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: "step",
            image: "alpine:3.20",
            // Not the shell's last command, so it does not exec it: the marker stays visible.
            command: ["sh", "-c", `sleep 300; echo ${marker}`],
          }],
        },
      },
    },
  });
  const running = await waitForPod(
    cluster,
    ns,
    "batch.kubernetes.io/job-name=long-running",
    (pod) => pod.status?.containerStatuses?.[0]?.state.running !== undefined,
    { timeoutMs: 60_000, description: "run" },
  );
  assert.ok(processesWith(marker).length > 0, "the container's process runs");

  await cluster.api.delete(`/apis/batch/v1/namespaces/${ns}/jobs/long-running`, {
    apiVersion: "v1",
    kind: "DeleteOptions",
    propagationPolicy: "Background",
  });
  const pods = `/api/v1/namespaces/${ns}/pods`;
  const name = running.metadata.name!;
  const stopped = await waitFor<Pod>(
    cluster.api,
    pods,
    name,
    (pod) => pod === undefined || pod.status?.phase === "Failed",
    { timeoutMs: 60_000, description: "be stopped" },
  );
  if (stopped) {
    // The shell is PID 1, which the kernel spares SIGTERM: killed after the grace period.
    assert.equal(stopped.status?.containerStatuses?.[0].state.terminated?.exitCode, 137);
  }
  await waitFor<Pod>(cluster.api, pods, name, (pod) => pod === undefined, {
    timeoutMs: 60_000,
    description: "be deleted",
  });
  assert.deepEqual(processesWith(marker), [], "no process of the pod is left");
});
