/**
 * The big log part (this plugin only): the `command` hook's peak memory while its step
 * prints a big log (100 MB; 20 MB in quick mode) against the same step printing 1 MB, the
 * sizes taking turns. What reached the build log (the hook's output) is counted as it
 * arrives, without keeping it: every numbered line must be there once, whole, and the end
 * marker after them, or the run failed and its memory means nothing. Lines the plugin says
 * may be missing (the kubelet rotated the container's log file; the benchmark's node
 * rotates at 200 Mi, above a 100 MB log) are a figure, not a failure.
 *
 * @module
 */

import { type BenchCluster, clearJobs } from "./bench_cluster.ts";
import type { PluginName, PluginUnderTest } from "./hooks.ts";
import { END_MARKER, START_MARKER } from "./log_fidelity.ts";
import {
  type BenchContext,
  type HookFigures,
  hookFigures,
  hookLimitMs,
  prepareJob,
  runMeasuredHook,
  tail,
  warmUp,
} from "./scenarios.ts";
import { BIG_LINE_DIGITS, BIG_LINE_FILLER, BIG_LINE_PREFIX, bigLogStep } from "./steps.ts";

/** What of a big log reached the build log, and when. */
export interface BigLogTally {
  /** Numbered lines the step printed. */
  expected: number;
  /** Distinct numbered lines seen. */
  distinct: number;
  /** Numbered lines never seen. */
  lost: number;
  /** Extra copies of lines seen more than once. */
  duplicated: number;
  /** Lines that mention a numbered line but are not exactly one (cut or run together). */
  garbled: number;
  /** Bytes of the whole numbered lines seen, newlines included. */
  bytes: number;
  /** The plugin's notes that lines may be missing (a rotated log file). */
  gapsTold: number;
  /** When the first numbered line reached the build log, ms since the epoch. */
  firstLineAt?: number;
  /** When the last numbered line reached the build log, ms since the epoch. */
  lastLineAt?: number;
  /** The container's clock before it printed, ms since the epoch. */
  containerStart?: number;
  /** The container's clock after it printed, ms since the epoch. */
  containerEnd?: number;
}

const NUMBERED = new RegExp(`^${BIG_LINE_PREFIX}(\\d{${BIG_LINE_DIGITS}}) ${BIG_LINE_FILLER}$`);
const MARKER = new RegExp(`^(${START_MARKER}|${END_MARKER}) (\\d{10,})$`);
const GAP_NOTE = /^kubernetes plugin: .*may be missing/;

/** Counts a big log's lines in a hook's output as it arrives, keeping none of it. */
export class LogTally {
  readonly #seen: Uint8Array;
  #pending = "";
  #garbled = 0;
  #bytes = 0;
  #gapsTold = 0;
  #firstLineAt?: number;
  #lastLineAt?: number;
  #containerStart?: number;
  #containerEnd?: number;

  /** A tally of a step that prints `expected` numbered lines. */
  constructor(expected: number) {
    this.#seen = new Uint8Array(expected + 1);
  }

  /** Counts the complete lines of a piece of output that arrived at `at` (ms). */
  add(text: string, at: number): void {
    const lines = (this.#pending + text).split("\n");
    this.#pending = lines.pop()!;
    for (const line of lines) this.#line(line, at);
  }

  #line(line: string, at: number): void {
    if (line.includes(BIG_LINE_PREFIX)) {
      const match = NUMBERED.exec(line);
      const number = match ? Number(match[1]) : 0;
      if (number < 1 || number >= this.#seen.length) {
        this.#garbled++;
        return;
      }
      if (this.#seen[number] < 255) this.#seen[number]++;
      this.#bytes += line.length + 1;
      this.#firstLineAt ??= at;
      this.#lastLineAt = at;
      return;
    }
    const marker = MARKER.exec(line);
    if (marker) {
      const ms = Number(BigInt(marker[2]) / 1000n) / 1000;
      if (marker[1] === START_MARKER) this.#containerStart = ms;
      else this.#containerEnd = ms;
      return;
    }
    if (GAP_NOTE.test(line)) this.#gapsTold++;
  }

  /** The tally so far, an incomplete last line counted as a line. */
  result(): BigLogTally {
    if (this.#pending) {
      this.#line(this.#pending, this.#lastLineAt ?? 0);
      this.#pending = "";
    }
    const expected = this.#seen.length - 1;
    let distinct = 0;
    let duplicated = 0;
    for (let number = 1; number <= expected; number++) {
      if (this.#seen[number] > 0) distinct++;
      if (this.#seen[number] > 1) duplicated += this.#seen[number] - 1;
    }
    return {
      expected,
      distinct,
      lost: expected - distinct,
      duplicated,
      garbled: this.#garbled,
      bytes: this.#bytes,
      gapsTold: this.#gapsTold,
      firstLineAt: this.#firstLineAt,
      lastLineAt: this.#lastLineAt,
      containerStart: this.#containerStart,
      containerEnd: this.#containerEnd,
    };
  }
}

/**
 * What is wrong with a big log run: the hook failed or was killed, the end of the log never
 * arrived, lines arrived twice or garbled, or lines were lost that the plugin did not say
 * may be missing.
 */
export function bigLogErrors(
  tally: BigLogTally,
  hook: { status: number; timedOut: boolean },
): string[] {
  const errors: string[] = [];
  if (hook.timedOut) errors.push("the command hook was killed at its time limit");
  if (hook.status !== 0) errors.push(`the command hook exited ${hook.status}`);
  if (tally.containerEnd === undefined) errors.push("the end of the step's log never arrived");
  if (tally.lost > 0 && tally.gapsTold === 0) {
    errors.push(`${tally.lost} of ${tally.expected} lines lost, and no gap was told`);
  }
  if (tally.duplicated > 0) errors.push(`${tally.duplicated} lines printed again`);
  if (tally.garbled > 0) errors.push(`${tally.garbled} lines garbled`);
  return errors;
}

/** One big log step through this plugin. */
export interface BigLogRecord {
  /** Which plugin ran it (this one). */
  plugin: PluginName;
  /** How much the step printed, MB (10^6 bytes). */
  megabytes: number;
  /** Which run of this size (1…). */
  repetition: number;
  /** The Buildkite job id it ran as. */
  jobId: string;
  /** The command hook. */
  command: HookFigures;
  /** What reached the build log. */
  tally: BigLogTally;
  /** What went wrong (`bigLogErrors`). */
  errors: string[];
  /** The end of the build log, kept for runs with errors. */
  outputTail?: string;
}

/** Results of the big log part. */
export interface BigLogResult {
  /** Every run (the warm-up excluded). */
  runs: BigLogRecord[];
}

/** The end of a big log's build log kept in memory, characters: enough for a tail. */
const KEPT_OUTPUT = 64 * 1024;

async function runBigLogStep(
  context: BenchContext,
  cluster: BenchCluster,
  plugin: PluginUnderTest,
  options: { megabytes: number; repetition: number },
): Promise<BigLogRecord> {
  const step = bigLogStep(options.megabytes);
  const job = await prepareJob(context, plugin, {
    command: step.command,
    kubeconfig: cluster.kubeconfigPath,
  });
  const group = await context.groups
    .child(`biglog/${options.megabytes}-${options.repetition}`).create();
  try {
    const tally = new LogTally(step.lines);
    const { run, timedOut } = await runMeasuredHook(context, plugin, "command", job.env, {
      group,
      limitMs: hookLimitMs(step),
      onOutput: (text) => tally.add(text, Date.now()),
      keepOutput: KEPT_OUTPUT,
    });
    const counted = tally.result();
    const errors = bigLogErrors(counted, { status: run.status, timedOut });
    return {
      plugin: plugin.name,
      megabytes: options.megabytes,
      repetition: options.repetition,
      jobId: job.jobId,
      command: hookFigures(run),
      tally: counted,
      errors,
      outputTail: errors.length > 0 ? tail(run.output) : undefined,
    };
  } finally {
    await group.remove();
    await job.remove();
  }
}

/** The big log part: the small and the big log step, taking turns. */
export async function measureBigLog(
  context: BenchContext,
  cluster: BenchCluster,
): Promise<BigLogResult> {
  const { settings } = context;
  const ours = context.plugins.find((plugin) => plugin.name === "ours")!;
  await warmUp({ ...context, plugins: [ours] }, cluster, cluster.kubeconfigPath);
  const sizes = [settings.smallLogMegabytes, settings.bigLogMegabytes];
  const runs: BigLogRecord[] = [];
  for (let repetition = 1; repetition <= settings.bigLogRepetitions; repetition++) {
    for (const megabytes of repetition % 2 === 1 ? sizes : [...sizes].reverse()) {
      context.signal.throwIfAborted();
      context.log(
        `${megabytes} MB log, run ${repetition}/${settings.bigLogRepetitions}: ${ours.name}`,
      );
      const record = await runBigLogStep(context, cluster, ours, { megabytes, repetition });
      if (record.errors.length > 0) {
        context.log(`  failed: ${record.errors.join("; ")}`);
      }
      runs.push(record);
      await clearJobs(cluster);
    }
  }
  return { runs };
}
