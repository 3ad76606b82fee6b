/**
 * A step's own `active-deadline-seconds` overrides the deadline its `timeout_in_minutes`
 * gives: with 5 s against a timeout of a minute, Kubernetes stops the command after about
 * 5 s and the hook exits 143, as at the step's timeout, saying the deadline was reached.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";

Deno.test("active-deadline-seconds stops the step before its timeout_in_minutes, with 143", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    // The shell is PID 1 and ignores SIGTERM: the kubelet kills it after the 2 s grace.
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "active-deadline-seconds": 5,
      "pod-spec-patch": { terminationGracePeriodSeconds: 2 },
    },
    command: "echo started\nsleep 300\necho finished",
    env: { BUILDKITE_TIMEOUT: "1" },
  });
  assert.equal(result.status, 143, result.stdout + result.stderr);
  // The Job's startTime, which the deadline counts from, is truncated to the second.
  assert.ok(
    result.durationMs >= 4_000 && result.durationMs < 40_000,
    `stopped after ${result.durationMs} ms`,
  );
  assert.match(result.stdout, /\nstarted\n/);
  assert.match(
    result.stdout,
    /The step exceeded its timeout of 5s \(the Job's activeDeadlineSeconds/,
  );
  assert.match(result.stdout, /reason: DeadlineExceeded\n/);
  assert.doesNotMatch(result.stdout, /finished/);
});
