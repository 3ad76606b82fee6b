/**
 * A step whose ServiceAccount is still being created when its Job is (a Helm release or a
 * namespace being set up at the same time): the first pod creations fail (`FailedCreate`),
 * the Job controller retries, and once the ServiceAccount exists the pod is created and the
 * step runs to its own end within `pod-creation-grace`.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster, waitForEvent } from "../cluster/testing.ts";
import { stepJobName } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("a service account created during pod-creation-grace: the step runs and succeeds", async () => {
  await using namespace = await freshNamespace();
  const jobId = newJobId();
  const step = runStep({
    namespace: namespace.name,
    jobId,
    plugin: { image: "alpine:3", "init-image": "", "service-account-name": "builder" },
    command: "echo the command ran",
  });
  const failed = await Promise.race([
    waitForEvent(
      testCluster(),
      namespace.name,
      stepJobName(jobId),
      (event) => event.reason === "FailedCreate",
      { timeoutMs: 60_000, description: "say the pod could not be created" },
    ),
    step.then((result) => {
      throw new Error(`the step ended before any FailedCreate: ${result.stdout}`);
    }),
  ]);
  assert.match(failed.message ?? "", /serviceaccount "builder" not found/);
  await testCluster().api.post(`/api/v1/namespaces/${namespace.name}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "builder" },
  });
  const result = await step;
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^the command ran$/m);
  assert.doesNotMatch(result.stdout, /could not create its pod/);
});
