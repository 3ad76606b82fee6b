/**
 * A step whose pod no node can take (a nodeSelector from `pod-spec-patch` that the node
 * does not satisfy): the hook fails with 94 once `pending-timeout` has passed, with the
 * scheduler's own explanation, and deletes the Job.
 */
import assert from "node:assert/strict";
import type { Job } from "../cluster/kube_types.ts";
import { freshNamespace } from "../cluster/testing.ts";
import { firstSeenAt, objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

const PENDING_TIMEOUT_SECONDS = 3;
const SCHEDULER_MESSAGE = "0/1 nodes are available: 1 node(s) didn't match Pod's node " +
  "affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for " +
  "scheduling.";

Deno.test("an unschedulable pod fails the step after pending-timeout with the scheduler's message", async () => {
  await using namespace = await freshNamespace();
  const jobId = newJobId();
  const seen = firstSeenAt<Job>(namespace.name, "jobs", `buildkite/job-id=${jobId}`, () => true);
  const result = await runStep({
    jobId,
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "pending-timeout": PENDING_TIMEOUT_SECONDS,
      "pod-spec-patch": { nodeSelector: { [`kbk.test/${namespace.name}`]: "yes" } },
    },
    command: "echo the command ran",
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 94, result.stdout + result.stderr);
  // Timed from when the Job was created, not from the program's start-up, which
  // stretches on a loaded machine and says nothing about the grace.
  const afterMs = result.exitedAt - await seen;
  assert.ok(
    afterMs >= (PENDING_TIMEOUT_SECONDS - 1) * 1000 &&
      afterMs < (PENDING_TIMEOUT_SECONDS + 3) * 1000,
    `failed ${
      Math.round(afterMs)
    } ms after the Job was created; the limit is ${PENDING_TIMEOUT_SECONDS} s`,
  );
  const [head, events] = result.stdout.split("recent events:\n");
  assert.equal(
    head,
    `~~~ :kubernetes: Creating Job ${namespace.name}/${name}\n` +
      "+++ :kubernetes: The pod could not be scheduled within pending-timeout " +
      `(${PENDING_TIMEOUT_SECONDS}s): ${SCHEDULER_MESSAGE}\n` +
      "reason: Unschedulable\n" +
      `message: ${SCHEDULER_MESSAGE}\n`,
  );
  const lines = events.split("\n");
  assert.ok(
    lines.some((line) =>
      new RegExp(`^ +\\d+s  Warning  FailedScheduling +Pod/${name}-\\w+: `).test(line) &&
      line.endsWith(SCHEDULER_MESSAGE)
    ),
    events,
  );
  assert.ok(
    events.endsWith(`kubernetes plugin: deleted Job ${namespace.name}/${name}\n`),
    result.stdout,
  );
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 30_000 });
});
