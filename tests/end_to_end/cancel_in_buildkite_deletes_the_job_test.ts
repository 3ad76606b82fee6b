/**
 * Someone presses Cancel in Buildkite while the pod runs: the agent learns it from the job's
 * state and signals the hook, which deletes the Job within the agent's cancel grace period;
 * pre-exit still runs, `finish` carries the agent's cancel signal, and no pod is left.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { waitUntilNone } from "../integration/fixtures.ts";
import { inOrder, left, scenario } from "./fixtures.ts";

const GRACE_SECONDS = 10;

Deno.test("Cancel in Buildkite: the Job is deleted within the grace period, pre-exit runs", async () => {
  await using namespace = await freshNamespace();
  await using run = await scenario(namespace.name, {
    plugin: { image: "alpine:3", "init-image": "" },
    command: "echo step-is-running\nsleep 300",
    cancelGracePeriodSeconds: GRACE_SECONDS,
  });
  const { job } = run;
  await job.api.waitForLog(job.id, /\nstep-is-running\n/, { timeoutMs: 120_000 });
  const cancelledAt = performance.now();
  job.api.cancel(job.id);
  const finish = await job.ended();
  const tookMs = performance.now() - cancelledAt;
  assert.ok(tookMs < GRACE_SECONDS * 1000, `the job ended ${Math.round(tookMs)} ms after Cancel`);
  assert.equal(job.api.state(job.id), "canceled");
  assert.equal(finish.signal, "SIGTERM", JSON.stringify(finish));
  assert.equal(finish.signal_reason, "cancel");
  inOrder(job.log(), [
    "step-is-running\n",
    "+++ :kubernetes: Cancelled (SIGTERM): deleted Job",
    "~~~ :kubernetes: Cleanup",
  ]);
  assert.deepEqual(await left(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 60_000 });
});
