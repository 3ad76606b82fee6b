import assert from "node:assert/strict";
import {
  cgroupProcesses,
  clusterCgroup,
  createCgroup,
  killCgroup,
  MEMORY_CONTROLLER,
  removeCgroup,
} from "./cgroups.ts";

Deno.test("clusterCgroup names one cgroup per state directory", () => {
  assert.equal(clusterCgroup("/a/state"), clusterCgroup("/a/state"));
  assert.notEqual(clusterCgroup("/a/state"), clusterCgroup("/b/state"));
  assert.match(clusterCgroup("/a/state"), new RegExp(`^${MEMORY_CONTROLLER}/kbk-[0-9a-f]{12}$`));
});

Deno.test("killCgroup kills a whole tree and removeCgroup removes it", async () => {
  const root = `${MEMORY_CONTROLLER}/kbk-cgroup-test-${crypto.randomUUID()}`;
  const child = `${root}/child`;
  await createCgroup(child);
  try {
    // Both sleeps are forked (into the cgroup) before the shell says it is ready.
    const shell = new Deno.Command("/bin/sh", {
      args: ["-c", `echo $$ > ${child}/cgroup.procs; sleep 300 & sleep 300 & echo ready; wait`],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = shell.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "ready\n");
    assert.equal((await cgroupProcesses(root)).length, 3);
    await killCgroup(root);
    assert.equal((await shell.status).signal, "SIGKILL");
    await reader.cancel();
    assert.deepEqual(await cgroupProcesses(root), []);
    await removeCgroup(root);
    await assert.rejects(Deno.stat(root), Deno.errors.NotFound);
  } finally {
    await killCgroup(root);
    await removeCgroup(root);
  }
});
