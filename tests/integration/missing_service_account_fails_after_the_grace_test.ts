/**
 * A step that names a ServiceAccount the namespace does not have, and nobody creates it: the
 * Job cannot create its pod (`FailedCreate`) and the Job controller retries in vain, so after
 * `pod-creation-grace` the hook fails with 95 and the API server's message, and deletes the Job.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const GRACE_S = 8;

Deno.test("a missing service account never created: 95 after pod-creation-grace, with the FailedCreate", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    // The default pending-timeout (600 s) must not be what ends the step.
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "service-account-name": "nobody",
      "pod-creation-grace": GRACE_S,
    },
    command: "echo the command ran",
  });
  const ns = namespace.name;
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 95, result.stdout + result.stderr);
  // The grace counts from the first FailedCreate by the API server's whole seconds.
  assert.ok(
    result.durationMs > (GRACE_S - 1) * 1000 && result.durationMs < (GRACE_S + 20) * 1000,
    `failed after ${result.durationMs} ms`,
  );
  const message = `Error creating: pods "${name}-" is forbidden: error looking up service ` +
    `account ${ns}/nobody: serviceaccount "nobody" not found`;
  const lines = result.stdout.split("\n");
  assert.equal(lines[0], `~~~ :kubernetes: Creating Job ${ns}/${name}`);
  assert.match(
    lines[1],
    new RegExp(
      `^\\+\\+\\+ :kubernetes: The Job could not create its pod for \\d+s ` +
        `\\(pod-creation-grace ${GRACE_S}s\\): `,
    ),
  );
  assert.ok(lines[1].endsWith(`: ${message}`), lines[1]);
  assert.deepEqual(lines.slice(2, 5), [
    "reason: FailedCreate",
    `message: ${message}`,
    "recent events:",
  ]);
  // The job controller retries with back-off: the event may have been counted again.
  assert.ok(
    new RegExp(`^ +\\d+s  Warning  FailedCreate +Job/${name}: `).test(lines[5]) &&
      lines[5].replace(/ \(x\d+\)$/, "").endsWith(`: ${message}`),
    lines[5],
  );
  assert.deepEqual(lines.slice(-2), [`kubernetes plugin: deleted Job ${ns}/${name}`, ""]);
  assert.deepEqual(await objectNames(ns, "jobs"), []);
  assert.deepEqual(await objectNames(ns, "pods"), []);
});
