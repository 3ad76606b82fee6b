import assert from "node:assert/strict";
import { dnsLabel, jobName, labelValue } from "../../../src/render/names.ts";
import { readStep } from "../../../src/config/step.ts";
import { JOB_ENV } from "../helpers.ts";

const labelValues: [string, string][] = [
  ["main", "main"],
  ["feature/ABC-123_x.y", "feature-ABC-123_x.y"],
  ["git@github.com:acme/app.git", "git-github.com-acme-app.git"],
  ["-leading and trailing-", "leading-and-trailing"],
  ["a".repeat(80), "a".repeat(63)],
  [`${"a".repeat(62)}-b`, "a".repeat(62)],
  ["ünïcødé", "n-c-d"],
  ["---", ""],
];
for (const [input, expected] of labelValues) {
  Deno.test(`labelValue(${JSON.stringify(input.slice(0, 20))}) is valid: ${JSON.stringify(expected.slice(0, 20))}`, () => {
    const value = labelValue(input);
    assert.equal(value, expected);
    assert.ok(value === "" || /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(value));
  });
}

Deno.test("dnsLabel lower-cases, collapses and trims", () => {
  assert.equal(dnsLabel("My_Pipeline--Name!"), "my-pipeline-name");
  assert.equal(dnsLabel("x".repeat(100), 10), "xxxxxxxxxx");
});

const jobNames: [Record<string, string | undefined>, RegExp][] = [
  [{}, /^my-app-42-[0-9a-f]{10}$/],
  [
    { BUILDKITE_PIPELINE_SLUG: "A".repeat(100), BUILDKITE_BUILD_NUMBER: "123456" },
    /^a{52}-[0-9a-f]{10}$/,
  ],
  [
    { BUILDKITE_PIPELINE_SLUG: "Weird Pipeline!!", BUILDKITE_BUILD_NUMBER: "7" },
    /^weird-pipeline-7-[0-9a-f]{10}$/,
  ],
  [
    { BUILDKITE_PIPELINE_SLUG: undefined, BUILDKITE_BUILD_NUMBER: undefined },
    /^buildkite-[0-9a-f]{10}$/,
  ],
];
for (const [env, pattern] of jobNames) {
  Deno.test(`job name for ${JSON.stringify(env).slice(0, 60)} is a DNS label of at most 63`, async () => {
    const name = await jobName(readStep({ ...JOB_ENV, ...env }));
    assert.match(name, pattern);
    assert.ok(name.length <= 63);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
}

Deno.test("job names differ per Buildkite job, and are stable for one", async () => {
  const a = await jobName(readStep({ ...JOB_ENV, BUILDKITE_JOB_ID: "job-a" }));
  const b = await jobName(readStep({ ...JOB_ENV, BUILDKITE_JOB_ID: "job-b" }));
  assert.notEqual(a, b);
  assert.equal(a, await jobName(readStep({ ...JOB_ENV, BUILDKITE_JOB_ID: "job-a" })));
});

Deno.test("the Job replacing a lost pod is named …-retry-<n>, still at most 63 characters", async () => {
  const step = readStep({ ...JOB_ENV, BUILDKITE_PIPELINE_SLUG: "a".repeat(80) });
  const first = await jobName(step);
  const retry = await jobName(step, { attempt: 1 });
  assert.match(retry, /^a+-[0-9a-f]{10}-retry-1$/);
  assert.ok(retry.length <= 63, retry);
  assert.equal(retry.split("-").at(-3), first.split("-").at(-1));
  assert.equal(await jobName(step, { attempt: 0 }), first);
});

Deno.test("the job name's hash is the job id's SHA-256, its first 10 hex digits, as 2.0.0 named Jobs", async () => {
  const name = await jobName(readStep({ ...JOB_ENV, BUILDKITE_JOB_ID: "job-a" }));
  // `printf job-a | sha256sum`
  assert.match(name, /-ba724b9dde$/);
});
