/**
 * A step with a timeout (`timeout_in_minutes: 1`, BUILDKITE_TIMEOUT=1) whose command runs
 * longer: the Job's activeDeadlineSeconds stops it after 60 s, the hook exits 143, as a
 * cancelled command would, and explains that the step's timeout was reached.
 */
import assert from "node:assert/strict";
import type { Job } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster, waitFor } from "../cluster/testing.ts";
import { stepJobName, waitUntilNone } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const TIMEOUT = "The step exceeded its timeout of 60s (the Job's activeDeadlineSeconds: the " +
  "step's active-deadline-seconds, else its timeout_in_minutes); Kubernetes stopped it.";

Deno.test("a step over its timeout is stopped after 60 s with 143 and the timeout explained", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    // The command's shell is the container's PID 1, which the kernel spares the SIGTERM it
    // has no handler for: the kubelet kills it when the grace period ends, 5 s here.
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "pod-spec-patch": { terminationGracePeriodSeconds: 5 },
      // The Job is kept after the step, to read its Failed condition below.
      "job-cleanup-after-finished-via-plugin": false,
    },
    command: "echo started\nsleep 300\necho finished",
    env: { BUILDKITE_TIMEOUT: "1" },
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 143, result.stdout + result.stderr);
  // The Job's startTime, which the deadline counts from, is truncated to the second.
  assert.ok(
    result.durationMs >= 59_000 && result.durationMs < 80_000,
    `stopped after ${result.durationMs} ms`,
  );
  assert.ok(
    result.stdout.startsWith(
      `~~~ :kubernetes: Creating Job ${namespace.name}/${name}\n` +
        "+++ :kubernetes: alpine:3\n" +
        "started\n",
    ),
    result.stdout,
  );
  // Which the follower sees first decides the summary: the Job's DeadlineExceeded condition
  // alone, or the step container's end after it; the diagnosis is the Job's either way.
  assert.match(
    result.stdout,
    new RegExp(
      `\\n\\+\\+\\+ :kubernetes: ${RegExp.escape(TIMEOUT)}` +
        "( The step container ended with status 143\\.)?\\n" +
        "reason: DeadlineExceeded\\n" +
        "message: Job was active longer than specified deadline\\n" +
        "recent events:\\n(  .*\\n)+$",
    ),
  );
  assert.doesNotMatch(result.stdout, /finished/);

  const job = await waitFor<Job>(
    testCluster().api,
    `/apis/batch/v1/namespaces/${namespace.name}/jobs`,
    name,
    (job) => job?.status?.conditions?.some((c) => c.type === "Failed") ?? false,
    { timeoutMs: 30_000, description: "be marked Failed" },
  );
  const failed = job!.status!.conditions!.find((c) => c.type === "Failed")!;
  assert.equal(failed.reason, "DeadlineExceeded");
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 30_000 });
});
