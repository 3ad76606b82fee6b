/**
 * A running step whose Job someone else suspends (Kueue preempting it) and never resumes: the
 * hook waits `pending-timeout` from the suspension, then ends with that timeout's status (94),
 * says the Job was suspended, and deletes it.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames } from "./fixtures.ts";
import { runningStep, setSuspended, suspensionRecorded } from "./job_control.ts";

const PENDING_TIMEOUT_S = 15;

Deno.test("a Job suspended from outside and never resumed: 94 after pending-timeout, said so", async () => {
  await using namespace = await freshNamespace();
  const step = await runningStep(
    namespace.name,
    { "pending-timeout": PENDING_TIMEOUT_S },
    "echo started\nsleep 300",
  );
  const name = step.name;
  const suspendedAt = performance.now();
  await setSuspended(namespace.name, name, true);
  await suspensionRecorded(namespace.name, name);
  const result = await step.result;
  assert.equal(result.status, 94, result.stdout + result.stderr);
  // The suspension's time is the Job controller's, in whole seconds.
  const waited = result.exitedAt - suspendedAt;
  assert.ok(
    waited > (PENDING_TIMEOUT_S - 1) * 1000 && waited < (PENDING_TIMEOUT_S + 20) * 1000,
    `ended ${waited} ms after the suspension`,
  );
  assert.match(
    result.stdout,
    new RegExp(
      "\\n\\+\\+\\+ :kubernetes: The Job was suspended \\(spec\\.suspend, e\\.g\\. by Kueue\\) " +
        `and not resumed within pending-timeout \\(${PENDING_TIMEOUT_S}s\\)\\.\\n` +
        "reason: JobSuspended\\n" +
        "message: Job suspended: someone else set the Job's spec\\.suspend, and its pods were deleted\\n",
    ),
  );
  assert.match(
    result.stdout,
    new RegExp(`kubernetes plugin: deleted Job ${namespace.name}/${name}\\n$`),
  );
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
});
