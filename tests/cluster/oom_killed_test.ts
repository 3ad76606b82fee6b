import assert from "node:assert/strict";
import type { Pod } from "./kube_types.ts";
import { freshNamespace, testCluster, waitFor } from "./testing.ts";

Deno.test("a container over its memory limit is OOMKilled with exit code 137", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const pods = `/api/v1/namespaces/${namespace.name}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "hungry" },
    spec: {
      restartPolicy: "Never",
      containers: [{
        name: "step",
        image: "alpine:3.20",
        // tail keeps the whole last "line" (here: all of it) in memory.
        command: ["sh", "-c", "head -c 500000000 /dev/zero | tail"],
        resources: { limits: { memory: "32Mi" } },
      }],
    },
  });
  const pod = await waitFor<Pod>(
    cluster.api,
    pods,
    "hungry",
    (pod) => pod?.status?.phase === "Failed",
    {
      timeoutMs: 60_000,
      description: "fail",
    },
  );
  const terminated = pod!.status!.containerStatuses![0].state.terminated!;
  assert.equal(terminated.reason, "OOMKilled");
  assert.equal(terminated.exitCode, 137);
});
