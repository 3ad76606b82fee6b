/**
 * The start-up part: how long each of this plugin's subcommands takes from the start of its
 * process to its exit, and its peak memory, against an empty Deno program measured in the
 * same run. Each is run as the hooks run the program (`ourPlugin`'s script: `deno run
 * --quiet --allow-all src/main.ts …`; the empty program through a script of the same shape),
 * in a measured cgroup of its own, with a hook's whole environment. The programs take turns
 * (empty, version, help, cleanup, render, then again), so a change in the machine's load
 * reaches all of them alike; a first round, not counted, fills Deno's module cache.
 *
 * Both figures include what every program here shares: the benchmark's spawn, the two
 * shells before `deno` (the cgroup join and the program script) and reading the output.
 * Peak memory is the cgroup's charge, as for the hooks: mostly the process's own (anonymous)
 * memory, since the `deno` binary's pages are already in the page cache, charged to whoever
 * read them first; so it is well below the process's resident size.
 *
 * @module
 */

import { VERSION } from "../src/version.ts";
import type { BenchCluster } from "./bench_cluster.ts";
import { emptyProgram } from "./hooks.ts";
import type { MeasuredGroup } from "./measured_group.ts";
import { type BenchContext, prepareJob, tail } from "./scenarios.ts";

/** The programs measured, in the order of each round: the empty program first. */
export const STARTUP_PROGRAMS = ["empty", "version", "--help", "cleanup", "render"] as const;

/** One program measured. */
export type StartupProgram = typeof STARTUP_PROGRAMS[number];

/** One run of one program. */
export interface StartupRecord {
  /** Which program. */
  program: StartupProgram;
  /** Which round (1…). */
  repetition: number;
  /** Its exit status. */
  status: number;
  /** Process start → exit, seconds. */
  seconds: number;
  /** Peak memory of its process tree (`memory.max_usage_in_bytes`), bytes. */
  peakBytes: number;
  /** What went wrong: an exit status, output it should not have printed. */
  errors: string[];
  /** Its output, kept for runs with errors. */
  outputTail?: string;
}

/** Results of the start-up part. */
export interface StartupResult {
  /** Every run (the first round excluded). */
  runs: StartupRecord[];
}

/** The arguments each subcommand is run with; the empty program gets none. */
const ARGUMENTS: Record<StartupProgram, string[]> = {
  empty: [],
  version: ["version"],
  "--help": ["--help"],
  cleanup: ["cleanup"],
  render: ["render"],
};

/**
 * What is wrong with a program's run, judged from its exit status and its output (stdout
 * and stderr together): each must do its work, or its time means nothing. `cleanup` always
 * exits 0; a line of the plugin's own (`kubernetes plugin: …`) says it deleted a Job, which
 * there is none of, or could not reach the cluster.
 */
export function startupErrors(program: StartupProgram, status: number, output: string): string[] {
  const errors = status === 0 ? [] : [`exited ${status}`];
  const expectations: Record<StartupProgram, [boolean, string]> = {
    empty: [output === "", "printed something"],
    version: [output.trim() === VERSION, `did not print ${VERSION}`],
    "--help": [output.startsWith("usage: kubernetes-buildkite-plugin"), "printed no usage"],
    cleanup: [!/^kubernetes plugin: /m.test(output), "reported something (see its output)"],
    render: [/^kind: Job$/m.test(output), "rendered no Job"],
  };
  const [fine, problem] = expectations[program];
  return fine ? errors : [...errors, problem];
}

/** Runs `argv` in `group` with `env` as its whole environment; waits for it to exit. */
async function runProgram(
  argv: string[],
  options: { env: Record<string, string>; cwd: string; group: MeasuredGroup; signal: AbortSignal },
): Promise<{ status: number; seconds: number; output: string; peakBytes: number }> {
  const [command, ...args] = options.group.wrap(argv);
  const started = performance.now();
  const result = await new Deno.Command(command, {
    args,
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal: options.signal,
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const { peakBytes } = await options.group.usage();
  return {
    status: result.code,
    seconds,
    output: new TextDecoder().decode(result.stdout),
    peakBytes,
  };
}

/** The most one program run may take before it is killed, ms. */
const PROGRAM_LIMIT_MS = 60_000;

/** The start-up part: each subcommand and the empty program, in turns. */
export async function measureStartup(
  context: BenchContext,
  cluster: BenchCluster,
): Promise<StartupResult> {
  const ours = context.plugins.find((plugin) => plugin.name === "ours")!;
  const programs: Record<StartupProgram, string> = {
    empty: await emptyProgram(context.workDir),
    version: ours.env.BUILDKITE_KUBERNETES_PLUGIN_PROGRAM,
    "--help": ours.env.BUILDKITE_KUBERNETES_PLUGIN_PROGRAM,
    cleanup: ours.env.BUILDKITE_KUBERNETES_PLUGIN_PROGRAM,
    render: ours.env.BUILDKITE_KUBERNETES_PLUGIN_PROGRAM,
  };
  const runs: StartupRecord[] = [];
  const rounds = context.settings.startupRepetitions;
  for (let repetition = 0; repetition <= rounds; repetition++) {
    context.signal.throwIfAborted();
    context.log(
      repetition === 0
        ? "start-up: first round (not counted)"
        : `start-up: round ${repetition}/${rounds}`,
    );
    // A fresh job id each round: the cleanup finds no Job of it, and deletes nothing.
    const job = await prepareJob(context, ours, {
      command: "true",
      kubeconfig: cluster.kubeconfigPath,
    });
    try {
      for (const [index, program] of STARTUP_PROGRAMS.entries()) {
        const group = await context.groups.child(`startup/${repetition}-${index}`).create();
        try {
          const run = await runProgram([programs[program], ...ARGUMENTS[program]], {
            env: job.env,
            cwd: context.workDir,
            group,
            signal: AbortSignal.any([context.signal, AbortSignal.timeout(PROGRAM_LIMIT_MS)]),
          });
          context.signal.throwIfAborted();
          const errors = startupErrors(program, run.status, run.output);
          const record: StartupRecord = {
            program,
            repetition,
            status: run.status,
            seconds: run.seconds,
            peakBytes: run.peakBytes,
            errors,
            outputTail: errors.length > 0 ? tail(run.output) : undefined,
          };
          if (repetition === 0 && errors.length > 0) {
            throw new Error(
              `start-up: ${program} failed in the first round: ${errors.join("; ")}\n` +
                record.outputTail,
            );
          }
          if (repetition > 0) runs.push(record);
        } finally {
          await group.remove();
        }
      }
    } finally {
      await job.remove();
    }
  }
  return { runs };
}
