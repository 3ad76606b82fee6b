/**
 * A running step whose Job someone else suspends (Kueue preempting it sets `spec.suspend`; the
 * Job controller deletes the pod) and resumes a few seconds later: the hook waits through the
 * suspension instead of calling the step lost, follows the new pod, and ends with its status.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { replacementOf, runningStep, setSuspended, suspensionRecorded } from "./job_control.ts";

Deno.test("a Job suspended from outside and resumed: the new pod runs, the step succeeds", async () => {
  await using namespace = await freshNamespace();
  const step = await runningStep(namespace.name, {}, "echo started\nsleep 10\necho finished");
  await setSuspended(namespace.name, step.name, true);
  await suspensionRecorded(namespace.name, step.name);
  await new Promise((resolve) => setTimeout(resolve, 4000));
  await setSuspended(namespace.name, step.name, false);
  const second = await replacementOf(step, namespace.name, "replace the suspended one and run");
  const result = await step.result;
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stdout, /deleted by someone else|suspended/);
  assert.notEqual(second.metadata.name, step.pod.metadata.name);
});
