/**
 * Two steps of one build running at once in one namespace (two agents, or two jobs on one
 * agent host): each step's `cleanup` (the pre-exit hook) deletes its own Job, found by its
 * job id, and leaves the other's alone, even while the other step still runs.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("each step's cleanup deletes its own Job only, the other step runs on", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  // The running step waits for this file, which the test creates once it has checked.
  const sync = await Deno.makeTempDir({ prefix: "kbk-two-steps-" });
  try {
    const [first, second] = [newJobId(), newJobId()];
    let secondWaits!: () => void;
    const waiting = new Promise<void>((resolve) => secondWaits = resolve);
    const running = runStep({
      namespace: ns,
      jobId: second,
      plugin: { image: "alpine:3", "init-image": "", "mount-hostpath": `${sync}:/sync` },
      command: "echo waiting\nuntil [ -e /sync/go ]; do sleep 0.1; done\necho second finished",
      onOutput: (stdout) => {
        if (stdout.includes("\nwaiting\n")) secondWaits();
      },
    });
    const finished = await runStep({
      namespace: ns,
      jobId: first,
      plugin: { image: "alpine:3", "init-image": "" },
      command: "echo first finished",
    });
    assert.equal(finished.status, 0, finished.stdout + finished.stderr);
    await Promise.race([waiting, running]);
    assert.deepEqual(
      await objectNames(ns, "jobs"),
      [stepJobName(first), stepJobName(second)].sort(),
    );

    const firstCleanup = await runStep({
      namespace: ns,
      jobId: first,
      plugin: { image: "alpine:3", "init-image": "" },
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
    assert.match(ran.stdout, /\nwaiting\nsecond finished\n$/);

    const secondCleanup = await runStep({
      namespace: ns,
      jobId: second,
      plugin: { image: "alpine:3", "init-image": "" },
      subcommand: "cleanup",
    });
    assert.equal(
      secondCleanup.stdout,
      `~~~ :kubernetes: Cleanup\nkubernetes plugin: deleted Job ${ns}/${stepJobName(second)}\n`,
    );
    assert.deepEqual(await objectNames(ns, "jobs"), []);
    await waitUntilNone(ns, "pods", { timeoutMs: 30_000 });
  } finally {
    await Deno.remove(sync, { recursive: true });
  }
});
