import assert from "node:assert/strict";
import {
  cgroupProcesses,
  createCgroup,
  killCgroup,
  MEMORY_CONTROLLER,
  removeCgroup,
} from "./cgroups.ts";
import {
  isAlive,
  parseStat,
  processesUsing,
  processesWith,
  spawnDaemon,
  stopProcessGroup,
} from "./processes.ts";

Deno.test("parseStat counts fields after a command name with spaces and parentheses", () => {
  const fields = Array.from({ length: 50 }, (_, index) => String(index + 3));
  fields[0] = "S";
  const stat = parseStat(`123 (a (b) c) ${fields.join(" ")}`);
  assert.deepEqual(stat, { state: "S", pgid: 5, startTime: 22 });
});

Deno.test("a daemon outlives its starter, joins its cgroup, and stops with its whole group", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kbk-daemon-test-" });
  const cgroup = `${MEMORY_CONTROLLER}/kbk-daemon-test-${crypto.randomUUID()}`;
  await createCgroup(cgroup);
  try {
    const record = await spawnDaemon("/bin/sh", {
      args: ["-c", "echo started; sleep 300 & sleep 300"],
      logFile: `${dir}/daemon.log`,
      cgroup,
      cwd: dir,
    });
    assert.ok(await isAlive(record));
    assert.ok((await cgroupProcesses(cgroup)).includes(record.pid));
    assert.ok(
      (await processesUsing(dir)).includes(record.pid),
      "its working directory gives it away",
    );
    assert.ok(!(await processesUsing(`${dir}-other`)).includes(record.pid), "a sibling is another");
    await stopProcessGroup(record, 5_000);
    assert.equal(await isAlive(record), false);
    assert.deepEqual(await cgroupProcesses(cgroup), [], "the background sleep went with the group");
    assert.equal(await Deno.readTextFile(`${dir}/daemon.log`), "started\n");
  } finally {
    await killCgroup(cgroup);
    await removeCgroup(cgroup);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processesWith finds a live process by a marker in its command line, and not after it", async () => {
  const marker = `kbk-marker-${crypto.randomUUID()}`;
  // `read` is a shell builtin: the shell waits on its stdin without forking, so no child of it
  // (which carries the marker until it execs) can outlive the kill below.
  const child = new Deno.Command("sh", { args: ["-c", `read line; : ${marker}`], stdin: "piped" })
    .spawn();
  try {
    assert.deepEqual(processesWith(marker), [child.pid]);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  assert.deepEqual(processesWith(marker), []);
});
