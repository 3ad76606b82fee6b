/**
 * The local cluster is a real node on this machine: `down` must leave no process, mount,
 * cgroup, network device, fixed path or changed sysctl behind, even when a container left
 * an orphan outside its process group, and the sysctls the kubelet rewrote come back.
 */
import assert from "node:assert/strict";
import { cgroupProcesses, clusterCgroup } from "../cluster/cgroups.ts";
import type { Pod } from "../cluster/kube_types.ts";
import { machineLeftovers, readSysctls } from "../cluster/node_host.ts";
import { processesUsing, processesWith } from "../cluster/processes.ts";
import { freshNamespace, privateControlPlane, waitFor } from "../cluster/testing.ts";

async function mountsUnder(dir: string): Promise<string[]> {
  return (await Deno.readTextFile("/proc/self/mountinfo")).split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point.startsWith(dir) || point.startsWith("/run/netns/cni-"));
}

Deno.test("`down` leaves no process, mount, cgroup, device, path or sysctl behind", async () => {
  const before = await readSysctls();
  const cluster = await privateControlPlane();
  let stopped = false;
  try {
    await using namespace = await freshNamespace(cluster);
    const marker = `kbk-orphan-${crypto.randomUUID()}`;
    const pods = `/api/v1/namespaces/${namespace.name}/pods`;
    // A daemon that leaves its process group and session, beside a Secret and an emptyDir
    // volume (mounts of the kubelet's) and the pod's network namespace.
    await cluster.api.post(`/api/v1/namespaces/${namespace.name}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      stringData: { k: "v" },
    });
    await cluster.api.post(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "leaves-orphans" },
      spec: {
        restartPolicy: "Never",
        containers: [{
          name: "step",
          image: "alpine:3.20",
          command: ["sh", "-c", `setsid sh -c 'sleep 300; echo ${marker}' & sleep 300`],
          volumeMounts: [{ name: "s", mountPath: "/s" }, { name: "e", mountPath: "/e" }],
        }],
        volumes: [{ name: "s", secret: { secretName: "s" } }, { name: "e", emptyDir: {} }],
      },
    });
    await waitFor<Pod>(
      cluster.api,
      pods,
      "leaves-orphans",
      (pod) => pod?.status?.containerStatuses?.[0]?.state.running !== undefined,
      { timeoutMs: 60_000, description: "run" },
    );
    assert.ok((await processesUsing(cluster.stateDir)).length >= 7, "the cluster runs");
    assert.ok(processesWith(marker).length > 0, "the container's orphan runs");
    assert.ok((await mountsUnder(cluster.stateDir)).length > 0, "the pod has mounts");
    assert.notDeepEqual(await machineLeftovers(cluster.stateDir), [], "the node is on the machine");

    await cluster.stop();
    stopped = true;
    assert.deepEqual(await processesUsing(cluster.stateDir), []);
    assert.deepEqual(processesWith(marker), []);
    assert.deepEqual(await cgroupProcesses(clusterCgroup(cluster.stateDir)), []);
    await assert.rejects(Deno.stat(clusterCgroup(cluster.stateDir)), Deno.errors.NotFound);
    assert.deepEqual(await mountsUnder(cluster.stateDir), []);
    assert.deepEqual(await machineLeftovers(cluster.stateDir), []);
    assert.deepEqual(await readSysctls(), before);
  } finally {
    if (!stopped) await cluster.stop();
  }
});
