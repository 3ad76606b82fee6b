/** The artifact upload wrapper, run for real under /bin/sh with a recording buildkite-agent. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderStep } from "../../../src/render/mod.ts";
import { configFor } from "../helpers.ts";

async function wrappedCommand(command: string): Promise<string[]> {
  const { job } = await renderStep(
    configFor({}, { BUILDKITE_COMMAND: command, BUILDKITE_ARTIFACT_PATHS: "out/*.log;report.xml" }),
  );
  return job.spec!.template.spec!.containers[0].command!;
}

function runWithFakeAgent(argv: string[], agentStatus: number) {
  const dir = mkdtempSync("/tmp/artifact-wrapper-");
  const agent = join(dir, "buildkite-agent");
  writeFileSync(agent, `#!/bin/sh\necho "$@" > ${dir}/calls\nexit ${agentStatus}\n`);
  chmodSync(agent, 0o755);
  const result = spawnSync(argv[0], argv.slice(1), {
    env: { PATH: `${dir}:/usr/bin:/bin`, BUILDKITE_ARTIFACT_PATHS: "out/*.log;report.xml" },
    encoding: "utf8",
  });
  let calls = "";
  try {
    calls = readFileSync(join(dir, "calls"), "utf8");
  } catch {
    // No call recorded.
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

Deno.test("artifacts are uploaded after a failing command, and the command's status is kept", async () => {
  const run = runWithFakeAgent(await wrappedCommand("echo building; exit 3"), 0);
  assert.equal(run.status, 3);
  assert.equal(run.calls, "artifact upload out/*.log;report.xml\n");
  assert.match(
    run.stdout,
    /building\n~~~ :kubernetes: Uploading artifacts: out\/\*\.log;report\.xml/,
  );
});

Deno.test("a failed upload is reported but does not change a successful command's status", async () => {
  const run = runWithFakeAgent(await wrappedCommand("true"), 1);
  assert.equal(run.status, 0);
  assert.match(run.stderr, /artifact upload failed \(exit 1\)/);
});

Deno.test("the step command keeps sh -e semantics inside the wrapper", async () => {
  const run = runWithFakeAgent(await wrappedCommand("false\necho not-reached"), 0);
  assert.equal(run.status, 1);
  assert.equal(run.stdout.includes("not-reached"), false);
});

Deno.test("artifact_paths without the plugin's buildkite-agent in the step container: a warning", () => {
  const artifacts = { BUILDKITE_ARTIFACT_PATHS: "out/*.log" };
  assert.deepEqual(configFor({}, artifacts).warnings, []);
  assert.match(
    configFor({ "init-image": "" }, artifacts).warnings.join("\n"),
    /artifact_paths .*`init-image: ""` leaves to the image alpine:3 to have on its PATH/,
  );
  assert.match(
    configFor({ "mount-buildkite-agent": false }, artifacts).warnings.join("\n"),
    /`mount-buildkite-agent: false` leaves to the image/,
  );
  assert.deepEqual(configFor({ "init-image": "" }).warnings, []);
});
