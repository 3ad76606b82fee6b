/**
 * A step whose checkout fails (the repository does not exist): the hook ends with the
 * checkout container's exit status, the log says that the checkout container `bootstrap`
 * failed and the command did not run, and the step container never started.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster, waitForPod } from "../cluster/testing.ts";
import { checkoutOf, stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

Deno.test("the checkout fails: the hook exits with bootstrap's status, the command never runs", async () => {
  await using namespace = await freshNamespace();
  const missing = `/tmp/kbk-missing-repository-${crypto.randomUUID()}`;
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3" },
    command: "echo the command ran",
    env: {
      ...checkoutOf(missing),
      // One attempt: the agent's default retries with back-off for half a minute.
      BUILDKITE_CHECKOUT_ATTEMPTS: "1",
    },
  });
  // buildkite-agent bootstrap ends with git's status when the clone fails.
  assert.equal(result.status, 128, result.stdout + result.stderr);
  const checkout = result.stdout.indexOf("--- :kubernetes: checkout\n");
  const failure = result.stdout.indexOf(
    '+++ :kubernetes: The checkout container "bootstrap" failed with exit status 128 (Error); ' +
      "the step's command did not run.\n" +
      "container: bootstrap\n" +
      "image: quay.io/muhlba91/buildkite-agent:2.0.0\n" +
      "reason: Error\n" +
      "recent events:\n",
  );
  assert.ok(checkout !== -1 && failure > checkout, result.stdout);
  assert.match(
    result.stdout.slice(checkout, failure),
    new RegExp(`fatal: repository '${missing}' does not exist`),
  );
  assert.doesNotMatch(result.stdout, /the command ran/);
  assert.doesNotMatch(result.stdout, /:kubernetes: alpine:3/, "no group for the step container");

  // The verdict comes with the checkout container's end; the kubelet marks the pod Failed
  // after it.
  const pod = await waitForPod(
    testCluster(),
    namespace.name,
    `job-name=${stepJobName(result.jobId)}`,
    (pod) => pod.status?.phase === "Failed",
    { timeoutMs: 30_000, description: "be Failed" },
  );
  const status = pod.status!;
  assert.equal(status.initContainerStatuses![0].state.terminated?.exitCode, 128);
  assert.equal(status.containerStatuses![0].name, "step");
  assert.equal(status.containerStatuses![0].state.waiting?.reason, "PodInitializing");
});
