/**
 * A step with `job-backoff-limit: 1` whose pod someone else deletes while the command runs (an
 * operator, a node drain): the Job controller counts one failure and creates a new pod, so
 * the hook follows that pod instead of calling the step lost, and ends with its status.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { replacementOf, runningStep } from "./job_control.ts";

Deno.test("a pod deleted with a retry left: the replacement runs and its status is the step's", async () => {
  await using namespace = await freshNamespace();
  const step = await runningStep(
    namespace.name,
    { "job-backoff-limit": 1 },
    "echo started\nsleep 8\nexit 3",
  );
  await testCluster().api.delete(
    `/api/v1/namespaces/${namespace.name}/pods/${step.pod.metadata.name}`,
  );
  const second = await replacementOf(step, namespace.name, "replace the deleted one and run");
  const result = await step.result;
  assert.equal(result.status, 3, result.stdout + result.stderr);
  assert.match(result.stdout, /exited with status 3/);
  assert.doesNotMatch(result.stdout, /deleted by someone else/);
  assert.notEqual(second.metadata.name, step.pod.metadata.name);
});
