/**
 * A step that names a ServiceAccount the namespace does not have: the Job can never create
 * its pod (`FailedCreate`), so the hook fails with 95 as soon as the Job says so, with the
 * API server's message, and deletes the Job.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

Deno.test("a missing service account fails the step at once with 95 and the FailedCreate", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    // The default pending-timeout (600 s) must not be what ends the step.
    plugin: { image: "alpine:3", "init-image": "", "service-account-name": "nobody" },
    command: "echo the command ran",
  });
  const ns = namespace.name;
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 95, result.stdout + result.stderr);
  assert.ok(result.durationMs < 10_000, `failed after ${result.durationMs} ms`);
  const message = `Error creating: pods "${name}-" is forbidden: error looking up service ` +
    `account ${ns}/nobody: serviceaccount "nobody" not found`;
  const lines = result.stdout.split("\n");
  assert.deepEqual(lines.slice(0, 5), [
    `~~~ :kubernetes: Creating Job ${ns}/${name}`,
    `+++ :kubernetes: The Job could not create its pod: ${message}`,
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
