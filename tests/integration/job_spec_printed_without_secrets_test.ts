/**
 * `print-resulting-job-spec`: the build log shows the Job, and the step's Secret with its
 * values redacted, before they are created, so even a Job the API refuses can be read;
 * what was printed is what was created, and no secret value appears in the log.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import type { Job, Secret } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { objectNames, stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const SECRETS = {
  BUILDKITE_AGENT_ACCESS_TOKEN: "job-token-4f2a9c",
  BUILDKITE_DEPLOY_PASSWORD: "deploy-password-81be07",
};

function assertNoSecretValue(text: string): void {
  for (const value of Object.values(SECRETS)) {
    assert.equal(text.includes(value), false, `${value} is in the log`);
    assert.equal(text.includes(btoa(value)), false, `${value} (base64) is in the log`);
  }
}

/** The documents printed between the `Job spec` group and `Creating Job`. */
function printedObjects(stdout: string, namespace: string, name: string) {
  const start = "~~~ :kubernetes: Job spec\n";
  const end = `~~~ :kubernetes: Creating Job ${namespace}/${name}\n`;
  assert.ok(stdout.startsWith(start), stdout);
  const at = stdout.indexOf(end);
  assert.ok(at > start.length, stdout);
  return YAML.parseAllDocuments(stdout.slice(start.length, at)).map((doc) => doc.toJS());
}

Deno.test("the Job and its redacted Secret are printed before they are created", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const result = await runStep({
    namespace: ns,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "print-resulting-job-spec": true,
      // Kept after the step, to be compared with what was printed.
      "job-cleanup-after-finished-via-plugin": false,
    },
    command: "echo hello",
    env: SECRETS,
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const [job, secret, ...more] = printedObjects(result.stdout, ns, name) as [Job, Secret];
  assert.equal(more.length, 0);
  assert.ok(result.stdout.endsWith("+++ :kubernetes: alpine:3\nhello\n"), result.stdout);
  assertNoSecretValue(result.stdout + result.stderr);

  assert.deepEqual([job.kind, job.metadata.name], ["Job", name]);
  const created = await testCluster().api.get<Job>(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`);
  const container = (j: Job) =>
    (j.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[0];
  for (const field of ["image", "command", "args", "workingDir", "env", "volumeMounts"]) {
    assert.deepEqual(container(job)[field], container(created)[field], field);
  }
  assert.deepEqual(job.metadata.labels, created.metadata.labels);

  assert.deepEqual([secret.kind, secret.metadata.name], ["Secret", name]);
  assert.deepEqual(secret.stringData, {
    BUILDKITE_DEPLOY_PASSWORD: "[REDACTED]",
    BUILDKITE_AGENT_ACCESS_TOKEN: "[REDACTED]",
  });
  // The Secret in the cluster holds the values themselves.
  const stored = await testCluster().api.get<Secret>(`/api/v1/namespaces/${ns}/secrets/${name}`);
  assert.deepEqual(
    Object.fromEntries(Object.entries(stored.data ?? {}).map(([key, value]) => [key, atob(value)])),
    SECRETS,
  );
});

Deno.test("a Job the API refuses is printed first, then the refusal, and nothing is created", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const result = await runStep({
    namespace: ns,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "print-resulting-job-spec": true,
      "pod-spec-patch": { activeDeadlineSeconds: -1 },
    },
    command: "echo hello",
    env: SECRETS,
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 90, result.stdout + result.stderr);
  const [job] = printedObjects(result.stdout, ns, name) as [Job];
  assert.equal(
    (job.spec as { template: { spec: { activeDeadlineSeconds: number } } }).template.spec
      .activeDeadlineSeconds,
    -1,
  );
  assert.equal(
    result.stderr,
    `kubernetes plugin: creating Job ${name} failed (422 Invalid): Job.batch "${name}" is ` +
      "invalid: spec.template.spec.activeDeadlineSeconds: Invalid value: -1: must be between 1 " +
      "and 2147483647, inclusive\n",
  );
  assertNoSecretValue(result.stdout + result.stderr);
  assert.deepEqual(await objectNames(ns, "jobs"), []);
  assert.deepEqual(await objectNames(ns, "secrets"), []);
});
