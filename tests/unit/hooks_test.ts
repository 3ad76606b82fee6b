/**
 * The hook shims, run as the agent runs them (sourced by bash): which program they find, in
 * which order, with which subcommand, and which status they end with.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compiledRuntimeFlags } from "../compile_task.ts";

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

Deno.test("hooks: then kubernetes-buildkite-plugin on PATH, then the checkout's own Deno, then Deno on PATH", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  mkdirSync(join(plugin, "node_modules/.bin"), { recursive: true });
  fakeProgram(join(plugin, "node_modules/.bin/deno"), "deno", 0);
  fakeProgram(join(bin, "kubernetes-buildkite-plugin"), "on-path", 0);
  assert.equal(runHook(plugin, "pre-exit", { PATH: bin }).stdout, "on-path cleanup\n");
  rmSync(join(bin, "kubernetes-buildkite-plugin"));
  // From source with the compiled program's runtime flags: the memory it was measured with.
  const flags = compiledRuntimeFlags().join(" ");
  assert.equal(
    runHook(plugin, "command", { PATH: bin }).stdout,
    `deno run --quiet --allow-all ${flags} ${plugin}/src/main.ts run\n`,
  );
  rmSync(join(plugin, "node_modules"), { recursive: true });
  fakeProgram(join(bin, "deno"), "deno-on-path", 0);
  assert.equal(
    runHook(plugin, "command", { PATH: bin }).stdout,
    `deno-on-path run --quiet --allow-all ${flags} --node-modules-dir=auto ${plugin}/src/main.ts run\n`,
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

/**
 * Runs the command hook in a process group of its own and signals the group, as the agent does.
 * The four signals start at their default action: one this test's runner inherited as ignored (a
 * shell's background job ignores QUIT and INT) stays ignored in every shell below, which can then
 * neither trap it nor be stopped by it.
 */
async function cancelHook(plugin: string, env: Record<string, string>, signal: Deno.Signal) {
  const defaults = "--default-signal=HUP,INT,QUIT,TERM";
  const child = spawn(
    "/usr/bin/env",
    [defaults, "/bin/bash", "-c", `. "${plugin}/hooks/command"`],
    {
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
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
  // A program that did not act on the signal loops on: killed after 10 s, it fails the test.
  const stuck = setTimeout(() => Deno.kill(-child.pid!, "SIGKILL"), 10_000);
  const { status, signal: killedBy } = await exited;
  clearTimeout(stuck);
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

/**
 * A program that says how it was called and, for `run`, writes `writes` into the file the
 * shim named (where the real one writes the job's id once nothing is left to clean up).
 */
function reportingProgram(path: string, writes: string): void {
  writeFileSync(
    path,
    `#!/bin/sh\necho "program $* file:\${BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP_FILE:-none}"\n` +
      `if [ "$1" = run ] && [ -n "$BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP_FILE" ]; then\n` +
      `  printf '%s' '${writes}' >"$BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP_FILE"\nfi\n`,
    { mode: 0o755 },
  );
}

/** The command hook, then the pre-exit hook, in one shell: what the first exported reaches the second. */
function commandThenPreExit(plugin: string, env: Record<string, string>) {
  const script = [
    `. "${plugin}/hooks/command"`,
    'echo "exported: ${BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP-none}' +
    ' file: ${BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP_FILE-none}"',
    `. "${plugin}/hooks/pre-exit"`,
  ].join("\n");
  const result = spawnSync("/bin/bash", ["-c", script], { env, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const JOB_ID = "01890000-0000-0000-0000-000000000001";

/** What the shim runs to make its file, besides bash. */
const SHIM_TOOLS = ["mkdir", "mktemp", "rm"];
const cleanedUp: [string, { writes: string; env?: Record<string, string> }, boolean][] = [
  ["run names this job: exported, and pre-exit starts no program", { writes: JOB_ID }, true],
  ["run names another job: nothing exported, pre-exit cleans up", { writes: "another" }, false],
  ["run writes nothing (a failed delete, a cancel): pre-exit cleans up", { writes: "" }, false],
  ["a value from elsewhere is not kept when run writes nothing", {
    writes: "",
    env: { BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP: JOB_ID },
  }, false],
];
for (const [name, { writes, env }, skipped] of cleanedUp) {
  Deno.test(`hooks: ${name}`, () => {
    using box = sandbox();
    const { plugin, bin } = box;
    for (const tool of SHIM_TOOLS) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    reportingProgram(join(bin, "kubernetes-buildkite-plugin"), writes);
    const result = commandThenPreExit(plugin, { PATH: bin, BUILDKITE_JOB_ID: JOB_ID, ...env });
    const [ran, exported, ...preExit] = result.stdout.split("\n");
    const file = /^program run file:(\/tmp\/kubernetes-buildkite-plugin\/cleaned-up\.\w{10})$/
      .exec(ran)?.[1];
    assert.ok(file, result.stdout + result.stderr);
    assert.equal(existsSync(file), false, "the shim removes its file");
    assert.equal(exported, `exported: ${skipped ? JOB_ID : "none"} file: none`);
    assert.deepEqual(
      preExit,
      skipped
        ? ["kubernetes plugin: the command hook has cleaned up already", ""]
        : ["program cleanup file:none", ""],
    );
    assert.deepEqual([result.status, result.stderr], [0, ""]);
  });
}

Deno.test("hooks: a file directory owned by another user is not used: pre-exit cleans up", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  for (const tool of SHIM_TOOLS) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  reportingProgram(join(bin, "kubernetes-buildkite-plugin"), JOB_ID);
  const script = [
    `. "${plugin}/hooks/command"`,
    'echo "exported: ${BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP-none}"',
    `. "${plugin}/hooks/pre-exit"`,
  ].join("\n");
  // In a mount namespace of its own, the directory is another user's (nobody's) for this
  // shell alone: the machine's own directory is left as it is.
  const setup = [
    "set -e",
    'theirs="$(mktemp -d)"',
    'chown nobody "${theirs}"',
    "mkdir -p /tmp/kubernetes-buildkite-plugin",
    'mount --bind "${theirs}" /tmp/kubernetes-buildkite-plugin',
    'exec /bin/bash -c "$0"',
  ].join("\n");
  const result = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "/bin/bash", "-c", setup, script],
    { env: { PATH: `${bin}:/usr/bin:/bin`, BUILDKITE_JOB_ID: JOB_ID }, encoding: "utf8" },
  );
  assert.equal(
    result.stdout,
    "program run file:none\nexported: none\nprogram cleanup file:none\n",
    result.stderr,
  );
});

Deno.test("hooks: pre-exit alone starts no program only for the job its variable names", () => {
  using box = sandbox();
  const { plugin, bin } = box;
  fakeProgram(join(bin, "kubernetes-buildkite-plugin"), "program", 0);
  const env = { PATH: bin, BUILDKITE_JOB_ID: JOB_ID };
  const preExit = (cleaned: string) =>
    runHook(plugin, "pre-exit", { ...env, BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP: cleaned }).stdout;
  assert.equal(preExit(JOB_ID), "kubernetes plugin: the command hook has cleaned up already\n");
  assert.equal(preExit("01890000-0000-0000-0000-000000000002"), "program cleanup\n");
  assert.equal(runHook(plugin, "pre-exit", { PATH: bin }).stdout, "program cleanup\n");
});
