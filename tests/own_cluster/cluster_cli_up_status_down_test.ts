/**
 * `deno task cluster up|status|down` from a shell: `up` prints the kubeconfig to export and
 * leaves a Ready node that is a real kubelet on containerd; `status` lists every component
 * running; `down` stops them all and leaves nothing on the machine.
 */
import assert from "node:assert/strict";
import { ApiClient } from "../cluster/api_client.ts";
import { COMPONENTS } from "../cluster/control_plane.ts";
import type { KubeList, Node } from "../cluster/kube_types.ts";
import { readKubeconfig } from "../cluster/kubeconfig.ts";
import { machineLeftovers } from "../cluster/node_host.ts";
import { processesUsing } from "../cluster/processes.ts";
import { privateStateDir, runClusterCli } from "../cluster/testing.ts";

Deno.test("cluster up: a Ready kubelet v1.37.2 on containerd; status; down leaves nothing", async () => {
  const stateDir = await privateStateDir();
  try {
    const up = await runClusterCli(stateDir, "up");
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, `export KUBECONFIG=${stateDir}/kubeconfig\n`);
    const api = new ApiClient(await readKubeconfig(`${stateDir}/kubeconfig`));
    try {
      const nodes = await api.get<KubeList<Node>>("/api/v1/nodes");
      assert.equal(nodes.items.length, 1);
      const info = nodes.items[0].status?.nodeInfo ?? {};
      assert.equal(info.kubeletVersion, "v1.37.2");
      assert.equal(info.containerRuntimeVersion, "containerd://2.4.2");
      assert.equal(
        nodes.items[0].status?.conditions?.find((c) => c.type === "Ready")?.status,
        "True",
      );
    } finally {
      api.close();
    }
    const status = await runClusterCli(stateDir, "status");
    assert.equal(status.code, 0, status.stdout + status.stderr);
    for (const name of COMPONENTS) {
      assert.match(status.stdout, new RegExp(`^${name} +pid \\d+ running$`, "m"));
    }
    const down = await runClusterCli(stateDir, "down");
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await processesUsing(stateDir), []);
    assert.deepEqual(await machineLeftovers(stateDir), []);
  } finally {
    await runClusterCli(stateDir, "down");
    await Deno.remove(stateDir, { recursive: true });
  }
});
