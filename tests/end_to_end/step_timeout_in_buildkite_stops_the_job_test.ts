/**
 * A step's `timeout_in_minutes` is reached: Buildkite turns the job `timing_out`, the agent
 * stops the hook, which deletes the Job; the job ends timed out and leaves no pod. (The
 * stand-in's minute lasts 5 s here; the Job's own activeDeadlineSeconds, a real minute, is
 * the backstop that does not come into play.)
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { waitUntilNone } from "../integration/fixtures.ts";
import { inOrder, left, scenario } from "./fixtures.ts";

Deno.test("timeout_in_minutes reached: the job times out and its Job and pod go", async () => {
  await using namespace = await freshNamespace();
  await using run = await scenario(namespace.name, {
    plugin: { image: "alpine:3", "init-image": "" },
    command: "echo step-is-running\nsleep 300",
    timeoutInMinutes: 1,
    minuteMs: 5_000,
  });
  const { job } = run;
  const finish = await job.ended();
  assert.equal(job.api.state(job.id), "timed_out", job.log());
  assert.equal(finish.signal, "SIGTERM", JSON.stringify(finish));
  inOrder(job.log(), [
    "step-is-running\n",
    "+++ :kubernetes: Cancelled (SIGTERM): deleted Job",
    "~~~ :kubernetes: Cleanup",
  ]);
  assert.deepEqual(await left(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 60_000 });
});
