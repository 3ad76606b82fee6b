/**
 * The plugins under test (this plugin, the bash plugin it replaces, this plugin at an earlier
 * commit) and how their hooks are run: as the Buildkite agent runs a plugin hook, through a
 * wrapper script that starts with the hook's shebang line, sources the hook and exits with its
 * status (the agent's wrapper also dumps the environment before and after through
 * `buildkite-agent env dump`; that is the agent's cost, left out here). Each run is in its own
 * measured cgroup pair.
 *
 * @module
 */

import { REPOSITORY_ROOT } from "../tests/cluster/binaries.ts";
import { compiledRunFlags, compileTaskRunFlags } from "../tests/compile_task.ts";
import type { MeasuredGroup } from "./measured_group.ts";

/** Which plugin: this one, the bash plugin, or this one at an earlier commit (`--before`). */
export type PluginName = "ours" | "baseline" | "before";

/** Which hook. */
export type HookName = "command" | "pre-exit";

/** A plugin checkout to run hooks from. */
export interface PluginUnderTest {
  /** `ours`, `baseline` or `before`. */
  name: PluginName;
  /** The checkout's root: `hooks/command` and `hooks/pre-exit` are below it. */
  dir: string;
  /** Variables this plugin's hooks get on top of the job's. */
  env: Record<string, string>;
}

/**
 * This plugin, run from source: `BUILDKITE_KUBERNETES_PLUGIN_PROGRAM` points at a script
 * that runs `deno run src/main.ts` with the Deno running the benchmark, and the permissions
 * and runtime flags (code cache, V8 flags) of the compiled program. (The compiled binary the
 * agent image carries needs `deno compile`, which downloads a runtime.)
 */
export function ourPlugin(workDir: string): Promise<PluginUnderTest> {
  return fromSource("ours", REPOSITORY_ROOT, {
    flags: compiledRunFlags(),
    program: `${workDir}/kubernetes-buildkite-plugin`,
  });
}

/**
 * A checkout of this plugin's source at `dir`, run as `ourPlugin` runs this one: with the
 * Deno running the benchmark (so only the plugin's code differs), the permissions and V8
 * flags of the checkout's own compile task, its own hooks, and its own `node_modules` (Deno
 * resolves a module's packages from the `node_modules` above it). Throws naming what is
 * missing.
 */
export async function beforePlugin(dir: string, workDir: string): Promise<PluginUnderTest> {
  const root = await Deno.realPath(dir).catch(() => {
    throw new Error(`--before ${dir}: no such directory`);
  });
  const fail = (problem: string) =>
    new Error(
      `--before ${dir}: ${problem}; give a checkout of this plugin at an earlier commit ` +
        "(git worktree add PATH COMMIT, then npm ci there)",
    );
  for (const file of ["src/main.ts", "hooks/command", "hooks/pre-exit", "deno.json"]) {
    if (!await isFile(`${root}/${file}`)) throw fail(`${file} is missing`);
  }
  let compileTask: unknown;
  try {
    compileTask = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)).tasks?.compile;
  } catch (error) {
    throw fail(`deno.json cannot be read (${(error as Error).message})`);
  }
  if (typeof compileTask !== "string") {
    throw fail(
      "deno.json has no compile task, whose permissions and V8 flags the program runs with",
    );
  }
  const hasModules = await Deno.stat(`${root}/node_modules`).then(
    (info) => info.isDirectory,
    () => false,
  );
  if (!hasModules) {
    throw fail("node_modules is missing, and its program runs with its own dependencies");
  }
  const problems = await dependencyProblems(root);
  if (problems.length > 0) throw fail(problems.join("; "));
  return fromSource("before", root, {
    flags: compileTaskRunFlags(compileTask),
    program: `${workDir}/kubernetes-buildkite-plugin-before`,
  });
}

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((info) => info.isFile, () => false);
}

/**
 * What a checkout's `node_modules` lacks of the dependencies its package.json pins: a package
 * not installed, or installed at another version (a `node_modules` linked from another commit).
 */
async function dependencyProblems(root: string): Promise<string[]> {
  let wanted: Record<string, string>;
  try {
    wanted = JSON.parse(await Deno.readTextFile(`${root}/package.json`)).dependencies ?? {};
  } catch {
    return [];
  }
  const problems: string[] = [];
  for (const [name, version] of Object.entries(wanted)) {
    let installed: string | undefined;
    try {
      installed = JSON.parse(
        await Deno.readTextFile(`${root}/node_modules/${name}/package.json`),
      ).version;
    } catch {
      problems.push(`node_modules has no ${name}, which its package.json needs`);
      continue;
    }
    if (/^\d+\.\d+\.\d+$/.test(version) && installed !== version) {
      problems.push(`node_modules has ${name} ${installed}, its package.json pins ${version}`);
    }
  }
  return problems;
}

/** A checkout of this plugin run from source through a script at `options.program`. */
async function fromSource(
  name: PluginName,
  root: string,
  options: { flags: string[]; program: string },
): Promise<PluginUnderTest> {
  const flags = options.flags.join(" ");
  await Deno.writeTextFile(
    options.program,
    `#!/bin/sh\nexec "${Deno.execPath()}" run --quiet ${flags} "${root}/src/main.ts" "$@"\n`,
    { mode: 0o755 },
  );
  return { name, dir: root, env: { BUILDKITE_KUBERNETES_PLUGIN_PROGRAM: options.program } };
}

/**
 * Deno's own start-up, run as `ourPlugin`'s program runs: a script that runs
 * `deno run --quiet --allow-all` on an empty module in `workDir`; returns the script's path.
 */
export async function emptyProgram(workDir: string): Promise<string> {
  const module = `${workDir}/empty.ts`;
  const program = `${workDir}/empty-deno-program`;
  await Deno.writeTextFile(module, "");
  await Deno.writeTextFile(
    program,
    `#!/bin/sh\nexec "${Deno.execPath()}" run --quiet --allow-all "${module}" "$@"\n`,
    { mode: 0o755 },
  );
  return program;
}

/** The bash plugin checkout at `dir`; throws naming what is missing. */
export async function baselinePlugin(dir: string): Promise<PluginUnderTest> {
  const root = await Deno.realPath(dir).catch(() => {
    throw new Error(`--baseline ${dir}: no such directory`);
  });
  for (const file of ["hooks/command", "hooks/pre-exit", "lib/job.jsonnet"]) {
    const found = await Deno.stat(`${root}/${file}`).then((info) => info.isFile, () => false);
    if (!found) {
      throw new Error(
        `--baseline ${dir}: ${file} is missing; give a checkout of muhlba91/kubernetes-buildkite-plugin`,
      );
    }
  }
  return { name: "baseline", dir: root, env: {} };
}

/** The hook's shebang line, as the agent copies it into its wrapper. */
async function shebang(hookPath: string): Promise<string> {
  const first = (await Deno.readTextFile(hookPath)).split("\n", 1)[0];
  return first.startsWith("#!") ? first : "#!/bin/bash";
}

/**
 * Where a wrapper writes the environment its hook left (NUL-separated `NAME=value`), for the
 * job's later hooks: the agent carries what a hook exported to them (it dumps the environment
 * after each hook), and this plugin's command hook exports that the pre-exit hook has nothing
 * left to do.
 */
export const EXPORTS_FILE_VARIABLE = "BENCH_HOOK_EXPORTS_FILE";

/** What the wrapper itself and its shell set: not carried to later hooks. */
const NOT_CARRIED = /^(BUILDKITE_HOOK_|BENCH_HOOK_|PWD$|OLDPWD$|SHLVL$|_$)/;

/**
 * The variables a hook exported or changed, from the file its wrapper wrote (none when it
 * wrote none), against the environment it started with.
 */
export async function hookExports(
  before: Record<string, string>,
  file: string,
): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    return {};
  }
  const exported: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const equals = entry.indexOf("=");
    if (equals <= 0) continue;
    const [name, value] = [entry.slice(0, equals), entry.slice(equals + 1)];
    if (!NOT_CARRIED.test(name) && before[name] !== value) exported[name] = value;
  }
  return exported;
}

/** Writes the agent-style wrapper of a plugin's hook into `dir`; returns its path. */
export async function writeHookWrapper(
  dir: string,
  plugin: PluginUnderTest,
  hook: HookName,
): Promise<string> {
  const hookPath = `${plugin.dir}/hooks/${hook}`;
  const wrapper = `${dir}/${plugin.name}-${hook}-wrapper`;
  await Deno.writeTextFile(
    wrapper,
    [
      await shebang(hookPath),
      `. "${hookPath}"`,
      "export BUILDKITE_HOOK_EXIT_STATUS=$?",
      'export BUILDKITE_HOOK_WORKING_DIR="${PWD}"',
      // Builtins alone: the dump costs the measured hook no process of its own.
      `if [ -n "\${${EXPORTS_FILE_VARIABLE}:-}" ]; then`,
      `  for name in $(compgen -e); do printf '%s=%s\\0' "$name" "\${!name}"; done >"\${${EXPORTS_FILE_VARIABLE}}"`,
      "fi",
      "exit $BUILDKITE_HOOK_EXIT_STATUS",
      "",
    ].join("\n"),
    { mode: 0o700 },
  );
  return wrapper;
}

/** One run of a hook. */
export interface HookRun {
  /** Whose hook. */
  plugin: PluginName;
  /** Which hook. */
  hook: HookName;
  /** The hook's exit status (128 + n when killed by signal n). */
  status: number;
  /** When it was started, ms since the epoch. */
  startedAt: number;
  /** When its process exited, ms since the epoch. */
  exitedAt: number;
  /** When its output stream closed (background processes may hold it after the exit). */
  outputClosedAt: number;
  /** Its output: stdout and stderr, as the build log would show them (or their end). */
  output: string;
  /** CPU time of its whole process tree, seconds. */
  cpuSeconds: number;
  /** Peak memory of its whole process tree, bytes. */
  peakBytes: number;
  /** Processes it left running that had to be killed. */
  leftBehind: number;
}

/** How to run a hook. */
export interface RunHookOptions {
  /** The wrapper script (`writeHookWrapper`). */
  wrapper: string;
  /** The hook's whole environment. */
  env: Record<string, string>;
  /** Its working directory. */
  cwd: string;
  /** The (created) group to run in; it is read after the hook and left for the caller. */
  group: MeasuredGroup;
  /** Called with each piece of output as it arrives. */
  onOutput?: (text: string) => void;
  /** Keep at most the last this many characters of the output (a big log); default: all. */
  keepOutput?: number;
  /** How long background processes may keep the output open after the hook exits. */
  lingerMs?: number;
  /** Kills the hook's process tree. */
  signal?: AbortSignal;
}

/** Runs a hook in its own process group, in its measured group, and waits for it. */
export async function runHook(
  plugin: PluginUnderTest,
  hook: HookName,
  options: RunHookOptions,
): Promise<HookRun> {
  const [command, ...args] = options.group.wrap([options.wrapper]);
  const startedAt = Date.now();
  const child = new Deno.Command(command, {
    args,
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    // The agent starts each hook in a process group of its own; a Ctrl-C at the terminal
    // reaches the benchmark, which then kills the groups.
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const onAbort = () => void options.group.kill();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  let output = "";
  let outputClosedAt = 0;
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      if (options.keepOutput !== undefined && output.length > 2 * options.keepOutput) {
        output = output.slice(-options.keepOutput);
      }
      options.onOutput?.(text);
    }
    output += decoder.decode();
    if (options.keepOutput !== undefined) output = output.slice(-options.keepOutput);
    outputClosedAt = Date.now();
  })();
  try {
    const status = await child.status;
    const exitedAt = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lingered = await Promise.race([
      reading.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), options.lingerMs ?? 30_000);
      }),
    ]);
    clearTimeout(timer);
    const leftBehind = (await options.group.processes()).length;
    if (lingered || leftBehind > 0) await options.group.kill();
    await reading;
    const usage = await options.group.usage();
    return {
      plugin: plugin.name,
      hook,
      status: status.code,
      startedAt,
      exitedAt,
      outputClosedAt,
      output,
      cpuSeconds: usage.cpuSeconds,
      peakBytes: usage.peakBytes,
      leftBehind,
    };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}
