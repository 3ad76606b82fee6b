/**
 * Runs the plugin's `run` (and `cleanup`) the way the `command` hook does: as its own
 * process, with a Buildkite job's environment, against the test cluster.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { type Cluster, testCluster } from "../cluster/testing.ts";
import { compiledRunFlags } from "../compile_task.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/** A step to run. */
export interface StepOptions {
  /** The namespace (the plugin's `namespace` option). */
  namespace: string;
  /** The plugin configuration; `namespace` is added. */
  plugin: Record<string, unknown>;
  /** The step's command (BUILDKITE_COMMAND); none when undefined. */
  command?: string;
  /** More variables for the hook's environment. */
  env?: Record<string, string>;
  /** The cluster (default: the shared one); a proxy's kubeconfig path goes here too. */
  kubeconfigPath?: string;
  /** Called with the whole output so far, each time more arrives. */
  onOutput?: (stdout: string) => void;
  /** Sends a signal to the program once its output matches, or once a promise settles. */
  signal?: { when: RegExp | Promise<unknown>; signal: Deno.Signal };
  /** `run` (default) or `cleanup`. */
  subcommand?: "run" | "cleanup";
  /** The Buildkite job id (default: a fresh one). */
  jobId?: string;
}

/** What the hook did. */
export interface StepResult {
  /** The hook's exit status. */
  status: number;
  /** Its standard output (the build log). */
  stdout: string;
  /** Its standard error. */
  stderr: string;
  /** How long it ran, in ms. */
  durationMs: number;
  /** When the signal was sent (performance.now()), if one was. */
  signalledAt?: number;
  /** When it exited (performance.now()). */
  exitedAt: number;
  /** The Buildkite job id it ran for. */
  jobId: string;
}

/** A fresh Buildkite job id. */
export function newJobId(): string {
  return crypto.randomUUID();
}

/** The job's environment, as the agent gives it to a hook. */
export function jobEnvironment(options: StepOptions, jobId: string, cluster?: Cluster) {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    KUBECONFIG: options.kubeconfigPath ?? (cluster ?? testCluster()).kubeconfigPath,
    BUILDKITE: "true",
    CI: "true",
    BUILDKITE_JOB_ID: jobId,
    BUILDKITE_BUILD_ID: "build-1",
    BUILDKITE_BUILD_NUMBER: "1",
    BUILDKITE_PIPELINE_SLUG: "scenario",
    BUILDKITE_ORGANIZATION_SLUG: "acme",
    BUILDKITE_AGENT_NAME: "test-agent",
    BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify({
      namespace: options.namespace,
      ...options.plugin,
    }),
    ...(options.command !== undefined ? { BUILDKITE_COMMAND: options.command } : {}),
    ...options.env,
  };
}

/** Runs the program as the hook would and waits for it to exit. */
export async function runStep(options: StepOptions): Promise<StepResult> {
  const jobId = options.jobId ?? newJobId();
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...compiledRunFlags(), MAIN, options.subcommand ?? "run"],
    env: jobEnvironment(options, jobId),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let signalledAt: number | undefined;
  const sendSignal = (signal: Deno.Signal) => {
    signalledAt = performance.now();
    child.kill(signal);
  };
  const { when } = options.signal ?? {};
  if (when instanceof Promise) when.finally(() => sendSignal(options.signal!.signal));
  const decoder = new TextDecoder();
  let stdout = "";
  const readStdout = (async () => {
    for await (const chunk of child.stdout) {
      stdout += decoder.decode(chunk, { stream: true });
      options.onOutput?.(stdout);
      if (when instanceof RegExp && signalledAt === undefined && when.test(stdout)) {
        sendSignal(options.signal!.signal);
      }
    }
  })();
  const stderrText = new Response(child.stderr).text();
  const { code } = await child.status;
  const exitedAt = performance.now();
  await readStdout;
  return {
    status: code,
    stdout,
    stderr: await stderrText,
    durationMs: exitedAt - started,
    signalledAt,
    exitedAt,
    jobId,
  };
}

/** What a hook did, run as the agent runs it. */
export interface HookResult {
  /** The hook's exit status; 137 when its process group was killed. */
  status: number;
  /** Its standard output and error (the build log). */
  output: string;
  /** The variables it exported or changed: the agent carries them to the job's later hooks. */
  exported: Record<string, string>;
  /** The subcommands the hook started the program with, in order. */
  programRuns: string[];
}

/** How to run a hook: a step's, and when to kill the hook as the agent does after its grace. */
export interface HookOptions extends Omit<StepOptions, "signal" | "subcommand"> {
  /** The Buildkite job id, the same for each of the job's hooks. */
  jobId: string;
  /** SIGKILLs the hook's whole process group once its output matches. */
  killWhen?: RegExp;
}

const HOOKS = fileURLToPath(new URL("../../hooks/", import.meta.url));

/**
 * Runs this checkout's `hooks/<hook>` as the agent does: sourced by bash in a process group
 * of its own, its environment dumped after it to find what it exported. The program it starts
 * is this checkout's source with the compiled permissions, each start recorded.
 */
export async function runHook(
  hook: "command" | "pre-exit",
  options: HookOptions,
): Promise<HookResult> {
  const dir = await Deno.makeTempDir({ prefix: "kbk-hook-" });
  try {
    const program = `${dir}/program`;
    await Deno.writeTextFile(
      program,
      `#!/bin/sh\necho "$1" >>"${dir}/runs"\n` +
        `exec "${Deno.execPath()}" run --quiet ${compiledRunFlags().join(" ")} "${MAIN}" "$@"\n`,
      { mode: 0o755 },
    );
    const env = {
      ...jobEnvironment(options, options.jobId),
      BUILDKITE_KUBERNETES_PLUGIN_PROGRAM: program,
    };
    const child = new Deno.Command("/bin/bash", {
      args: [
        "-c",
        '. "$1"; status=$?; env -0 >"$2"; exit "${status}"',
        "hook",
        HOOKS + hook,
        `${dir}/env`,
      ],
      env,
      clearEnv: true,
      detached: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    let killWhen = options.killWhen;
    const decoder = new TextDecoder();
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        output += decoder.decode(chunk, { stream: true });
        options.onOutput?.(output);
        if (killWhen?.test(output)) {
          killWhen = undefined;
          Deno.kill(-child.pid, "SIGKILL");
        }
      }
    };
    await Promise.all([read(child.stdout), read(child.stderr)]);
    const { code } = await child.status;
    const after = await Deno.readTextFile(`${dir}/env`).catch(() => "");
    const exported = Object.fromEntries(
      after.split("\0").filter(Boolean).map((entry) => [
        entry.slice(0, entry.indexOf("=")),
        entry.slice(entry.indexOf("=") + 1),
      ]).filter(([name, value]) =>
        (env as Record<string, string>)[name] !== value &&
        !["_", "PWD", "SHLVL", "OLDPWD"].includes(name)
      ),
    );
    const runs = await Deno.readTextFile(`${dir}/runs`).catch(() => "");
    return { status: code, output, exported, programRuns: runs.split("\n").filter(Boolean) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
