/**
 * A running step whose Job someone else suspends (Kueue preempting it sets `spec.suspend`; the
 * Job controller deletes the pod) and resumes a few seconds later: the hook waits through the
 * suspension instead of calling the step lost, follows the new pod, and ends with its status.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster, waitForPod } from "../cluster/testing.ts";
import { stepJobName } from "./fixtures.ts";
import { setSuspended, stepRunning, suspensionRecorded } from "./job_control.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("a Job suspended from outside and resumed: the new pod runs, the step succeeds", async () => {
  await using namespace = await freshNamespace();
  const jobId = newJobId();
  const name = stepJobName(jobId);
  const selector = `buildkite/job-id=${jobId}`;
  const running = waitForPod(testCluster(), namespace.name, selector, stepRunning, {
    timeoutMs: 60_000,
    description: "run",
  });
  const step = runStep({
    jobId,
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "pod-spec-patch": { terminationGracePeriodSeconds: 2 },
    },
    command: "echo started\nsleep 10\necho finished",
  });
  const endedEarly = step.then((result) => {
    throw new Error(`the step ended before a new pod ran: ${result.stdout}`);
  });
  const first = await running;
  const second = await Promise.race([
    (async () => {
      await setSuspended(namespace.name, name, true);
      await suspensionRecorded(namespace.name, name);
      await new Promise((resolve) => setTimeout(resolve, 4000));
      await setSuspended(namespace.name, name, false);
      return await waitForPod(
        testCluster(),
        namespace.name,
        selector,
        (pod) => pod.metadata.name !== first.metadata.name && stepRunning(pod),
        { timeoutMs: 60_000, description: "replace the suspended one and run" },
      );
    })(),
    endedEarly,
  ]);
  const result = await step;
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stdout, /deleted by someone else|suspended/);
  assert.notEqual(second.metadata.name, first.metadata.name);
});
