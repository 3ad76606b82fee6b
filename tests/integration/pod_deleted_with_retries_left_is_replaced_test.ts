/**
 * A step with `job-backoff-limit: 1` whose pod someone else deletes while the command runs (an
 * operator, a node drain): the Job controller counts one failure and creates a new pod, so
 * the hook follows that pod instead of calling the step lost, and ends with its status.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster, waitForPod } from "../cluster/testing.ts";
import { stepRunning } from "./job_control.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("a pod deleted with a retry left: the replacement runs and its status is the step's", async () => {
  await using namespace = await freshNamespace();
  const jobId = newJobId();
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
      "job-backoff-limit": 1,
      "pod-spec-patch": { terminationGracePeriodSeconds: 2 },
    },
    command: "echo started\nsleep 8\nexit 3",
  });
  const first = await running;
  await testCluster().api.delete(
    `/api/v1/namespaces/${namespace.name}/pods/${first.metadata.name}`,
  );
  const second = await Promise.race([
    waitForPod(
      testCluster(),
      namespace.name,
      selector,
      (pod) => pod.metadata.name !== first.metadata.name && stepRunning(pod),
      { timeoutMs: 90_000, description: "replace the deleted one and run" },
    ),
    step.then((result) => {
      throw new Error(`the step ended before the replacement ran: ${result.stdout}`);
    }),
  ]);
  const result = await step;
  assert.equal(result.status, 3, result.stdout + result.stderr);
  assert.match(result.stdout, /exited with status 3/);
  assert.doesNotMatch(result.stdout, /deleted by someone else/);
  assert.notEqual(second.metadata.name, first.metadata.name);
});
