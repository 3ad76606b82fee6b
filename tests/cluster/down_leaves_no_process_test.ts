import assert from "node:assert/strict";
import { cgroupProcesses, clusterCgroup } from "./cgroups.ts";
import type { Pod } from "./kube_types.ts";
import { processesUsing } from "./processes.ts";
import { freshNamespace, privateControlPlane, waitFor } from "./testing.ts";

async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.includes(marker)) found.push(Number(entry.name));
  }
  return found;
}

Deno.test("`down` leaves no process behind, not even a container's orphans", async () => {
  const cluster = await privateControlPlane();
  let stopped = false;
  try {
    await using namespace = await freshNamespace(cluster);
    const marker = `kbk-orphan-${crypto.randomUUID()}`;
    const pods = `/api/v1/namespaces/${namespace.name}/pods`;
    // A daemon that leaves its process group and session: only the cgroup still holds it.
    await cluster.api.post(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "leaves-orphans" },
      spec: {
        restartPolicy: "Never",
        containers: [{
          name: "step",
          image: "alpine:3.20",
          command: ["sh", "-c", `setsid sh -c 'sleep 300 # ${marker}' & sleep 300`],
        }],
      },
    });
    await waitFor<Pod>(
      cluster.api,
      pods,
      "leaves-orphans",
      (pod) => pod?.status?.containerStatuses?.[0]?.state.running !== undefined,
      { timeoutMs: 60_000, description: "run" },
    );
    assert.ok((await processesUsing(cluster.stateDir)).length >= 4, "the control plane runs");
    assert.ok((await processesWith(marker)).length > 0, "the container and its orphan run");

    await cluster.stop();
    stopped = true;
    assert.deepEqual(await processesUsing(cluster.stateDir), []);
    assert.deepEqual(await processesWith(marker), []);
    assert.deepEqual(await cgroupProcesses(clusterCgroup(cluster.stateDir)), []);
    await assert.rejects(Deno.stat(clusterCgroup(cluster.stateDir)), Deno.errors.NotFound);
  } finally {
    if (!stopped) await cluster.stop();
  }
});
