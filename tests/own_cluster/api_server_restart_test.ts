import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace, privateControlPlane, readPodLog, waitFor } from "../cluster/testing.ts";

Deno.test("pods keep running and reporting across an API server restart", async () => {
  await using cluster = await privateControlPlane();
  await using namespace = await freshNamespace(cluster);
  const ns = namespace.name;
  const gate = await Deno.makeTempDir({ prefix: "kbk-gate-" });
  try {
    const pods = `/api/v1/namespaces/${ns}/pods`;
    await cluster.api.post(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "survivor" },
      spec: {
        restartPolicy: "Never",
        containers: [{
          name: "step",
          image: "alpine:3.20",
          command: [
            "sh",
            "-c",
            "echo before; while [ ! -e /gate/go ]; do sleep 0.1; done; echo after",
          ],
          volumeMounts: [{ name: "gate", mountPath: "/gate" }],
        }],
        volumes: [{ name: "gate", hostPath: { path: gate } }],
      },
    });
    await waitFor<Pod>(
      cluster.api,
      pods,
      "survivor",
      (pod) => pod?.status?.containerStatuses?.[0]?.state.running !== undefined,
      { timeoutMs: 60_000, description: "run" },
    );

    await cluster.restartApiServer();

    await Deno.writeTextFile(`${gate}/go`, "");
    await waitFor<Pod>(cluster.api, pods, "survivor", (pod) => pod?.status?.phase === "Succeeded", {
      timeoutMs: 60_000,
      description: "finish, reported through the restarted API server",
    });
    assert.equal(await readPodLog(cluster, ns, "survivor"), "before\nafter\n");

    // The node agent's watches came back: a new pod is scheduled and run.
    await cluster.api.post(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "newcomer" },
      spec: {
        restartPolicy: "Never",
        containers: [{ name: "step", image: "alpine:3.20", command: ["true"] }],
      },
    });
    await waitFor<Pod>(cluster.api, pods, "newcomer", (pod) => pod?.status?.phase === "Succeeded", {
      timeoutMs: 60_000,
      description: "be scheduled and run after the restart",
    });
  } finally {
    await Deno.remove(gate, { recursive: true });
  }
});
