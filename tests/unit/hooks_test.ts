/**
 * The hook shims, run as the agent runs them (sourced by bash): which program they find, in
 * which order, with which subcommand, and which status they end with.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dirname!, "../..");

/** A plugin checkout holding only the hooks, and a PATH with nothing on it but `dirname`. */
function sandbox(): { plugin: string; bin: string } & Disposable {
  const root = mkdtempSync(join(tmpdir(), "hooks-"));
  const plugin = join(root, "plugin");
  cpSync(join(REPO, "hooks"), join(plugin, "hooks"), { recursive: true });
  const bin = join(root, "bin");
  mkdirSync(bin);
  symlinkSync("/usr/bin/dirname", join(bin, "dirname"));
  return { plugin, bin, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
}

/** An executable that says how it was called and exits with `status`. */
function fakeProgram(path: string, label: string, status: number): void {
  writeFileSync(path, `#!/bin/sh\necho "${label} $*"\nexit ${status}\n`, { mode: 0o755 });
}

function runHook(plugin: string, hook: string, env: Record<string, string>) {
  const result = spawnSync("/bin/bash", ["-c", `. "${plugin}/hooks/${hook}"`], {
    env,
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

Deno.test("hooks: BUILDKITE_KUBERNETES_PLUGIN_PROGRAM comes first, and run's status is the hook's", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  fakeProgram(join(bin, "kubernetes-buildkite-plugin"), "on-path", 0);
  fakeProgram(join(plugin, "explicit"), "explicit", 3);
  const result = runHook(plugin, "command", {
    PATH: bin,
    BUILDKITE_KUBERNETES_PLUGIN_PROGRAM: join(plugin, "explicit"),
  });
  assert.deepEqual(result, { status: 3, stdout: "explicit run\n", stderr: "" });
});

Deno.test("hooks: then kubernetes-buildkite-plugin on PATH, then the checkout's own Deno", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  mkdirSync(join(plugin, "node_modules/.bin"), { recursive: true });
  fakeProgram(join(plugin, "node_modules/.bin/deno"), "deno", 0);
  fakeProgram(join(bin, "kubernetes-buildkite-plugin"), "on-path", 0);
  assert.equal(runHook(plugin, "pre-exit", { PATH: bin }).stdout, "on-path cleanup\n");
  rmSync(join(bin, "kubernetes-buildkite-plugin"));
  assert.equal(
    runHook(plugin, "command", { PATH: bin }).stdout,
    `deno run --quiet --allow-all ${plugin}/src/main.ts run\n`,
  );
});

Deno.test("hooks: without a program, the command hook says how to get one and fails (78)", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  const result = runHook(plugin, "command", { PATH: bin });
  assert.equal(result.status, 78);
  assert.match(result.stderr, /cannot find its program.*kubernetes-buildkite-plugin.*Deno/s);
});

Deno.test("hooks: the pre-exit hook never fails the build, even without a program", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  const missing = runHook(plugin, "pre-exit", { PATH: bin });
  assert.equal(missing.status, 0);
  assert.match(missing.stderr, /cannot find its program/);
  assert.match(missing.stderr, /cleanup ended with status 78; the step's own status stands/);
  fakeProgram(join(bin, "kubernetes-buildkite-plugin"), "failing", 97);
  const failing = runHook(plugin, "pre-exit", { PATH: bin });
  assert.equal(failing.status, 0);
  assert.equal(failing.stdout, "failing cleanup\n");
  assert.match(failing.stderr, /cleanup ended with status 97/);
});

Deno.test("hooks: the checkout hook skips the agent-side checkout unless agent-checkout is true", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  fakeProgram(join(bin, "buildkite-agent"), "buildkite-agent", 0);
  assert.match(runHook(plugin, "checkout", { PATH: bin }).stdout, /Skipping the agent-side/);
  assert.equal(
    runHook(plugin, "checkout", {
      PATH: bin,
      BUILDKITE_PLUGIN_KUBERNETES_AGENT_CHECKOUT: "true",
    }).stdout,
    "buildkite-agent bootstrap --phases checkout\n",
  );
});
