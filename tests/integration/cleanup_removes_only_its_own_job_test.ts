/**
 * Two steps of one build running at once in one namespace (two agents, or two jobs on one
 * agent host), one of whose command hooks is killed, so that its Job is left to the pre-exit
 * hook: that step's `cleanup` deletes its own Job, found by its job id, and leaves the
 * other's alone while the other still runs; the other's command hook deletes its own at the
 * end, and leaves its `cleanup` nothing.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("each step's cleanup deletes its own Job only, the other step runs on", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  // The running steps wait for this file, which the test creates once it has checked.
  const sync = await Deno.makeTempDir({ prefix: "kbk-two-steps-" });
  try {
    const [first, second] = [newJobId(), newJobId()];
    const plugin = { image: "alpine:3", "init-image": "", "mount-hostpath": `${sync}:/sync` };
    const command = "echo waiting\nuntil [ -e /sync/go ]; do sleep 0.1; done\necho finished";
    let secondWaits!: () => void;
    const waiting = new Promise<void>((resolve) => secondWaits = resolve);
    const running = runStep({
      namespace: ns,
      jobId: second,
      plugin,
      command,
      onOutput: (stdout) => {
        if (stdout.includes("\nwaiting\n")) secondWaits();
      },
    });
    const killed = await runStep({
      namespace: ns,
      jobId: first,
      plugin,
      command,
      signal: { when: /\nwaiting\n/, signal: "SIGKILL" },
    });
    assert.equal(killed.status, 137, killed.stdout + killed.stderr);
    await Promise.race([waiting, running]);
    assert.deepEqual(
      await objectNames(ns, "jobs"),
      [stepJobName(first), stepJobName(second)].sort(),
    );

    const firstCleanup = await runStep({
      namespace: ns,
      jobId: first,
      plugin,
      subcommand: "cleanup",
    });
    assert.equal(firstCleanup.status, 0, firstCleanup.stdout + firstCleanup.stderr);
    assert.equal(
      firstCleanup.stdout,
      `~~~ :kubernetes: Cleanup\nkubernetes plugin: deleted Job ${ns}/${stepJobName(first)}\n`,
    );
    assert.deepEqual(await objectNames(ns, "jobs"), [stepJobName(second)]);

    await Deno.writeTextFile(`${sync}/go`, "");
    const ran = await running;
    assert.equal(ran.status, 0, ran.stdout + ran.stderr);
    assert.match(ran.stdout, /\nwaiting\nfinished\n$/);
    assert.deepEqual(await objectNames(ns, "jobs"), []);

    const secondCleanup = await runStep({
      namespace: ns,
      jobId: second,
      plugin,
      subcommand: "cleanup",
    });
    assert.equal(secondCleanup.stdout, "~~~ :kubernetes: Cleanup\n");
    await waitUntilNone(ns, "pods", { timeoutMs: 30_000 });
  } finally {
    await Deno.remove(sync, { recursive: true });
  }
});
