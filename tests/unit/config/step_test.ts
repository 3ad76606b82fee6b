import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentDirectoryName, readStep } from "../../../src/config/step.ts";
import { JOB_ENV } from "../helpers.ts";

const agentNames: [string, string][] = [
  ["agent-1", "agent-1"],
  ["my.agent_01", "my-agent-01"],
  ["host/with spaces", "host-with-spaces"],
  ["ägent-☕", "-gent--"],
];
for (const [name, expected] of agentNames) {
  Deno.test(`the agent's checkout directory for agent name ${JSON.stringify(name)} is ${expected}`, () => {
    assert.equal(agentDirectoryName(name), expected);
  });
}

Deno.test("the checkout path is BUILD_PATH/agent/org/pipeline, as the agent computes it", () => {
  const step = readStep({
    ...JOB_ENV,
    BUILDKITE_AGENT_NAME: "ci.example-1",
    BUILDKITE_BUILD_PATH: "/b/",
  });
  assert.equal(step.checkoutPath, "/b/ci-example-1/acme/my-app");
  assert.equal(step.env.get("BUILDKITE_BUILD_CHECKOUT_PATH"), "/b/ci-example-1/acme/my-app");
  assert.equal(step.env.get("BUILDKITE_BUILD_PATH"), "/b/");
});

Deno.test("without BUILDKITE_BUILD_PATH the pod builds under /buildkite/builds", () => {
  const step = readStep({ ...JOB_ENV, BUILDKITE_BUILD_PATH: undefined });
  assert.equal(step.checkoutPath, "/buildkite/builds/agent-1/acme/my-app");
});

const timeouts: [string | undefined, number | undefined][] = [
  [undefined, undefined],
  ["false", undefined],
  ["", undefined],
  ["0", undefined],
  ["15", 15],
];
for (const [value, minutes] of timeouts) {
  Deno.test(`BUILDKITE_TIMEOUT=${JSON.stringify(value)} is ${minutes ?? "no"} minutes`, () => {
    assert.equal(readStep({ ...JOB_ENV, BUILDKITE_TIMEOUT: value }).timeoutMinutes, minutes);
  });
}

Deno.test("the agent host's paths, pids, sockets, hook state and registration token never reach the pod", () => {
  const step = readStep({
    ...JOB_ENV,
    BUILDKITE_AGENT_PID: "123",
    BUILDKITE_AGENT_TOKEN: "registration-token",
    BUILDKITE_BIN_PATH: "/usr/bin",
    BUILDKITE_HOOKS_PATH: "/etc/buildkite-agent/hooks",
    BUILDKITE_PLUGINS_PATH: "/var/lib/buildkite-agent/plugins",
    BUILDKITE_BUILD_CHECKOUT_PATH: "/host/checkout",
    BUILDKITE_PLUGIN_KUBERNETES_IMAGE: "alpine",
    BUILDKITE_PLUGIN_CONFIGURATION: "{}",
    BUILDKITE_AGENT_JOB_API_SOCKET: "/tmp/sock",
    BUILDKITE_LAST_HOOK_EXIT_STATUS: "0",
    PATH: "/usr/local/bin:/usr/bin",
    HOME: "/var/lib/buildkite-agent",
  });
  for (
    const name of [
      "BUILDKITE_AGENT_PID",
      "BUILDKITE_AGENT_TOKEN",
      "BUILDKITE_BIN_PATH",
      "BUILDKITE_HOOKS_PATH",
      "BUILDKITE_PLUGINS_PATH",
      "BUILDKITE_PLUGIN_KUBERNETES_IMAGE",
      "BUILDKITE_PLUGIN_CONFIGURATION",
      "BUILDKITE_AGENT_JOB_API_SOCKET",
      "BUILDKITE_LAST_HOOK_EXIT_STATUS",
      "PATH",
      "HOME",
    ]
  ) {
    assert.equal(step.env.has(name), false, `${name} must not reach the pod`);
  }
  assert.equal(
    step.env.get("BUILDKITE_BUILD_CHECKOUT_PATH"),
    "/buildkite/builds/agent-1/acme/my-app",
  );
  assert.equal(step.env.get("BUILDKITE_AGENT_ACCESS_TOKEN"), "job-token-value");
  assert.equal(step.env.get("BUILDKITE_AGENT_ENDPOINT"), "https://agent.buildkite.com/v3");
});

Deno.test("with an env file, the pod gets the file's variables plus the agent's configuration, not the host's", () => {
  const dir = mkdtempSync("/tmp/step-test-");
  const file = join(dir, "job.env");
  writeFileSync(
    file,
    [
      "BUILDKITE_GIT_CLONE_FLAGS",
      "BUILDKITE_SHELL",
      'BUILDKITE_JOB_ID="from-file"',
      'BUILDKITE_COMMAND="npm test"',
      'DEPLOY_ENV="staging"',
      'BUILDKITE_BUILD_CHECKOUT_PATH="/custom/checkout"',
    ].join("\n") + "\n",
  );
  const step = readStep({
    BUILDKITE_ENV_FILE: file,
    BUILDKITE_JOB_ID: "from-hook",
    BUILDKITE_AGENT_ACCESS_TOKEN: "t",
    BUILDKITE_GIT_CLONE_FLAGS: "-v --depth=1",
    BUILDKITE_SHELL: "/bin/bash -e -c",
    BUILDKITE_REQUEST_HEADER_X_TENANT: "acme",
    HOSTNAME_SPECIFIC: "x",
  });
  assert.equal(step.jobId, "from-file");
  assert.equal(step.command, "npm test");
  assert.equal(step.env.get("DEPLOY_ENV"), "staging");
  assert.equal(step.env.get("BUILDKITE_GIT_CLONE_FLAGS"), "-v --depth=1");
  assert.equal(step.env.has("BUILDKITE_SHELL"), false);
  assert.equal(step.env.has("HOSTNAME_SPECIFIC"), false);
  assert.equal(step.env.get("BUILDKITE_REQUEST_HEADER_X_TENANT"), "acme");
  assert.equal(step.checkoutPath, "/custom/checkout");
  assert.match(step.envSource, /job\.env$/);
});

Deno.test("artifact paths are read from the job", () => {
  assert.equal(
    readStep({ ...JOB_ENV, BUILDKITE_ARTIFACT_PATHS: " out/**/* " }).artifactPaths,
    "out/**/*",
  );
  assert.equal(readStep({ ...JOB_ENV, BUILDKITE_ARTIFACT_PATHS: "" }).artifactPaths, undefined);
});
