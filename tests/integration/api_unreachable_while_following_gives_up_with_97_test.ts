/**
 * The API server out of reach after the Job was created (a proxy between the program and the
 * API server drops every connection and refuses new ones): the build log says so within
 * seconds, whatever the debug setting; an outage shorter than `api-unreachable-timeout`
 * costs the step nothing, and a longer one ends it with 97 instead of a silent hang, the Job
 * deleted as soon as the API answers again.
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace, startTcpProxy } from "../cluster/testing.ts";
import { firstSeenAt, objectNames } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

const running = (pod: Pod) => pod.status?.containerStatuses?.some((s) => s.state?.running) ?? false;

/**
 * Runs `command` with `api-unreachable-timeout: budgetS` behind a proxy that blocks the API
 * once the step container runs, and unblocks it `outageMs` later.
 */
async function stepThroughAnOutage(budgetS: number, command: string, outageMs: number) {
  await using namespace = await freshNamespace();
  await using proxy = await startTcpProxy();
  const jobId = newJobId();
  const step = runStep({
    jobId,
    namespace: namespace.name,
    kubeconfigPath: proxy.kubeconfigPath,
    plugin: { image: "alpine:3", "init-image": "", "api-unreachable-timeout": budgetS },
    command,
  });
  await firstSeenAt<Pod>(namespace.name, "pods", `buildkite/job-id=${jobId}`, running);
  proxy.block();
  await new Promise((resolve) => setTimeout(resolve, outageMs));
  proxy.unblock();
  const result = await step;
  return { ...result, jobs: await objectNames(namespace.name, "jobs") };
}

Deno.test("an API outage shorter than api-unreachable-timeout is told in the log and the step succeeds", async () => {
  const result = await stepThroughAnOutage(60, "sleep 30; echo still here", 35_000);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /the Kubernetes API has not answered for 30 s \(.+\); still trying/);
  assert.match(result.stdout, /the Kubernetes API answers again, after \d+ s out of reach/);
  assert.match(result.stdout, /\nstill here\n/);
});

Deno.test("an API outage longer than api-unreachable-timeout ends the step with 97, and the Job is deleted", async () => {
  // The API comes back just after the program gave up (at most 20 s after the block), while
  // it still tries to delete the Job (for 10 s): the deletion must get through.
  const result = await stepThroughAnOutage(20, "sleep 600", 23_000);
  assert.equal(result.status, 97, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /the Kubernetes API has not answered for 10 s .*for up to 20 s in all/,
  );
  assert.match(
    result.stdout + result.stderr,
    /cannot follow the step: the Kubernetes API has not answered for 2\d s \(api-unreachable-timeout; last error: /,
  );
  assert.match(result.stdout, /deleted Job /);
  assert.deepEqual(result.jobs, []);
});
