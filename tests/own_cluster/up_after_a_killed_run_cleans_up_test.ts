/**
 * A test run or demo killed in the middle leaves its whole cluster running (its processes
 * are daemons) and the kubelet's fixed paths claimed. The next `up`, from any state
 * directory, stops that abandoned cluster and starts afresh; a cluster whose owner still
 * runs is refused instead, by name.
 */
import assert from "node:assert/strict";
import { down, up } from "../cluster/control_plane.ts";
import { processesUsing } from "../cluster/processes.ts";
import { readMachineRecord } from "../cluster/node_host.ts";
import { privateStateDir } from "../cluster/testing.ts";

Deno.test("`up` stops the cluster of a killed run, and refuses one whose owner lives", async () => {
  const first = await privateStateDir();
  const second = await privateStateDir();
  const owner = new Deno.Command("sleep", { args: ["600"] }).spawn();
  try {
    await up({ stateDir: first, ownerPid: owner.pid });
    assert.equal((await readMachineRecord())?.stateDir, first);

    await assert.rejects(
      up({ stateDir: second, ownerPid: Deno.pid }),
      new RegExp(`a local cluster runs already from ${first}`),
    );
    assert.ok((await processesUsing(first)).length >= 7, "the first cluster still runs");

    owner.kill("SIGKILL");
    await owner.status;
    const { state } = await up({ stateDir: second, ownerPid: Deno.pid });
    assert.deepEqual(await processesUsing(first), [], "the abandoned cluster was stopped");
    assert.equal((await readMachineRecord())?.stateDir, state.stateDir);
  } finally {
    try {
      owner.kill("SIGKILL");
    } catch {
      // Killed already.
    }
    await down(second);
    await down(first);
    await Deno.remove(first, { recursive: true });
    await Deno.remove(second, { recursive: true });
  }
});
