/**
 * The hook shims, run as the agent runs them (sourced by bash): which program they find, in
 * which order, with which subcommand, and which status they end with.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
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

/**
 * A program that, on any of the four signals, says which and exits 128 + its number, as the
 * real one does after deleting the Job.
 */
function cancellableProgram(path: string): void {
  const traps = [["HUP", 1], ["INT", 2], ["QUIT", 3], ["TERM", 15]]
    .map(([name, number]) =>
      `trap 'echo "cancelled by ${name}"; exit ${128 + Number(number)}' ${name}`
    );
  writeFileSync(
    path,
    `#!/bin/sh\n${traps.join("\n")}\necho ready\nwhile :; do /bin/sleep 0.1; done\n`,
    { mode: 0o755 },
  );
}

/** Runs the command hook in a process group of its own and signals the group, as the agent does. */
async function cancelHook(plugin: string, env: Record<string, string>, signal: Deno.Signal) {
  const child = spawn("/bin/bash", ["-c", `. "${plugin}/hooks/command"`], {
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  const ready = new Promise<void>((resolve) =>
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("ready\n")) resolve();
    })
  );
  const exited = new Promise<{ status: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (status, signal) => resolve({ status, signal }))
  );
  await ready;
  Deno.kill(-child.pid!, signal);
  const { status, signal: killedBy } = await exited;
  return { status, killedBy, stdout };
}

for (
  const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129], [
    "SIGQUIT",
    131,
  ]] as const
) {
  Deno.test(`hooks: cancelled by ${signal}, the command hook waits for the program and ends with its ${status}`, async () => {
    using box = sandbox();
    const { plugin, bin } = box;
    cancellableProgram(join(bin, "kubernetes-buildkite-plugin"));
    const result = await cancelHook(plugin, { PATH: bin }, signal);
    assert.deepEqual(result, {
      status,
      killedBy: null,
      stdout: `ready\ncancelled by ${signal.slice(3)}\n`,
    });
  });
}
