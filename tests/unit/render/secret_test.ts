import assert from "node:assert/strict";
import YAML from "yaml";
import {
  escapeDollars,
  globToRegExp,
  isSecretVariable,
  redactionPatterns,
} from "../../../src/render/secret.ts";
import { renderStep } from "../../../src/render/mod.ts";
import { loadConfiguration } from "../../../src/config/mod.ts";
import { configFor, withJobEnvFile } from "../helpers.ts";

const globs: [string, string, boolean][] = [
  ["*_TOKEN", "GITHUB_TOKEN", true],
  ["*_TOKEN", "TOKEN", false],
  ["*_TOKEN", "GITHUB_TOKENS", false],
  ["MY_?", "MY_A", true],
  ["MY_?", "MY_AB", false],
  ["[AB]_KEY", "B_KEY", true],
  ["[^AB]_KEY", "C_KEY", true],
  ["[^AB]_KEY", "A_KEY", false],
  ["A.B", "AxB", false],
  ["A.B", "A.B", true],
];
for (const [pattern, name, expected] of globs) {
  Deno.test(`glob ${pattern} ${expected ? "matches" : "does not match"} ${name}`, () => {
    assert.equal(globToRegExp(pattern).test(name), expected);
  });
}

Deno.test("secret variables: the agent's defaults, BUILDKITE_REDACTED_VARS, the access token and request headers", () => {
  const patterns = redactionPatterns(new Map([["BUILDKITE_REDACTED_VARS", "DEPLOY_*, *_CERT"]]));
  for (
    const name of [
      "DB_PASSWORD",
      "API_SECRET",
      "NPM_TOKEN",
      "GIT_PRIVATE_KEY",
      "DEPLOY_SSH_KEY",
      "AWS_ACCESS_KEY",
      "AWS_SECRET_KEY",
      "PG_CONNECTION_STRING",
      "STRIPE_API_KEY",
      "DEPLOY_TARGET",
      "TLS_CERT",
      "BUILDKITE_AGENT_ACCESS_TOKEN",
      "BUILDKITE_REQUEST_HEADER_AUTHORIZATION",
    ]
  ) {
    assert.ok(isSecretVariable(name, patterns), `${name} must be secret`);
  }
  for (const name of ["PASSWORD_HINT", "BUILDKITE_BRANCH", "TOKENIZER", "DEPLOYMENT"]) {
    assert.equal(isSecretVariable(name, patterns), false, `${name} is not secret`);
  }
});

Deno.test("no secret value appears anywhere in the Job; all are in the Secret, shown redacted", async () => {
  const secrets = {
    BUILDKITE_AGENT_ACCESS_TOKEN: "access-token-3f9a",
    DB_PASSWORD: "hunter2-value",
    MY_CERT: "-----BEGIN CERT-----\nxyz",
    BUILDKITE_REQUEST_HEADER_X_AUTH: "header-secret-77",
  };
  const { BUILDKITE_AGENT_ACCESS_TOKEN, BUILDKITE_REQUEST_HEADER_X_AUTH, ...jobSecrets } = secrets;
  const config = loadConfiguration({
    ...withJobEnvFile(jobSecrets, {
      BUILDKITE_AGENT_ACCESS_TOKEN,
      BUILDKITE_REQUEST_HEADER_X_AUTH,
      BUILDKITE_REDACTED_VARS: "*_CERT",
      BUILDKITE_AGENT_TOKEN: "registration-9b",
    }),
    BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify({ image: "alpine" }),
  });
  const shown = await renderStep(config, { redact: true });
  const created = await renderStep(config);
  const jobText = JSON.stringify(created.job);
  for (const value of [...Object.values(secrets), "registration-9b"]) {
    assert.equal(jobText.includes(value), false, `the Job must not contain ${value}`);
    assert.equal(
      JSON.stringify(shown).includes(value),
      false,
      `the shown objects must not contain ${value}`,
    );
  }
  const decoded = Object.fromEntries(
    Object.entries(created.secret!.data!).map(([key, value]) => [key, atob(value)]),
  );
  assert.deepEqual(decoded, {
    DB_PASSWORD: "hunter2-value",
    MY_CERT: "-----BEGIN CERT-----\nxyz",
    BUILDKITE_AGENT_ACCESS_TOKEN: "access-token-3f9a",
    BUILDKITE_REQUEST_HEADER_X_AUTH: "header-secret-77",
  });
  assert.deepEqual(Object.values(shown.secret!.stringData!), Array(4).fill("[REDACTED]"));
  assert.equal(shown.secret!.data, undefined);
  const step = created.job.spec!.template.spec!.containers[0];
  assert.deepEqual(step.env!.find((e) => e.name === "DB_PASSWORD")!.valueFrom, {
    secretKeyRef: { name: created.job.metadata!.name, key: "DB_PASSWORD" },
  });
  assert.equal(created.secret!.metadata!.name, created.job.metadata!.name);
  assert.ok(YAML.stringify(shown.secret).includes("[REDACTED]"));
});

Deno.test("the Secret is named, labelled and namespaced like its Job", async () => {
  const { job, secret } = await renderStep(configFor({ namespace: "ci" }));
  assert.equal(secret!.metadata!.name, job.metadata!.name);
  assert.equal(secret!.metadata!.namespace, "ci");
  assert.deepEqual(secret!.metadata!.labels, job.metadata!.labels);
});

Deno.test("a step without secrets has no Secret", async () => {
  const { secret } = await renderStep(configFor({}, { BUILDKITE_AGENT_ACCESS_TOKEN: undefined }));
  assert.equal(secret, undefined);
});

Deno.test("values pass through the kubelet's $(VAR) expansion unchanged", () => {
  assert.equal(escapeDollars("$(HOME) costs $5, $$"), "$$(HOME) costs $$5, $$$$");
});
