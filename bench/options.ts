/**
 * `deno task bench` arguments and what each mode measures.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The parts of the benchmark. */
export const PHASES = ["steps", "logs", "concurrency", "startup", "biglog"] as const;

/** One part of the benchmark. */
export type Phase = typeof PHASES[number];

/** How much to measure. */
export interface Settings {
  /** Which of the two modes. */
  mode: "quick" | "full";
  /** Runs per plugin of the short step (latency, CPU, memory, API requests). */
  shortRepetitions: number;
  /** The short step's sleep, seconds. */
  shortStepSeconds: number;
  /** Runs per plugin of the long step (API requests against step duration). */
  longRepetitions: number;
  /** The long step's sleep, seconds. */
  longStepSeconds: number;
  /** Numbered lines the short and long steps print. */
  stepLines: number;
  /** Lines of the log-fidelity step. */
  logLines: number;
  /** About how many seconds the log-fidelity step takes to print them. */
  logSeconds: number;
  /** Runs per plugin and cut pattern of the log-fidelity step. */
  logRepetitions: number;
  /** The period of the periodic connection cuts, ms. */
  cutEveryMs: number;
  /** Numbers of concurrent steps. */
  concurrency: number[];
  /** Runs per plugin and concurrency. */
  concurrencyRepetitions: number;
  /** The concurrent steps' sleep, seconds. */
  concurrencyStepSeconds: number;
  /** How long a window stays open after the last hook, for the cluster's reactions, ms. */
  settleMs: number;
  /** Runs of each subcommand and of the empty Deno program, interleaved (start-up part). */
  startupRepetitions: number;
  /** The small log the big one is compared with, MB (10^6 bytes). */
  smallLogMegabytes: number;
  /** The big log, MB (10^6 bytes). */
  bigLogMegabytes: number;
  /** Runs of the small and of the big log step, alternating. */
  bigLogRepetitions: number;
}

/** The settings of each mode. */
export const MODES: Record<Settings["mode"], Settings> = {
  quick: {
    mode: "quick",
    shortRepetitions: 3,
    shortStepSeconds: 5,
    longRepetitions: 1,
    longStepSeconds: 20,
    stepLines: 10,
    logLines: 20_000,
    logSeconds: 8,
    logRepetitions: 1,
    cutEveryMs: 2_000,
    concurrency: [1, 10],
    concurrencyRepetitions: 1,
    concurrencyStepSeconds: 5,
    settleMs: 3_000,
    startupRepetitions: 10,
    smallLogMegabytes: 1,
    bigLogMegabytes: 20,
    bigLogRepetitions: 1,
  },
  full: {
    mode: "full",
    shortRepetitions: 5,
    shortStepSeconds: 10,
    longRepetitions: 3,
    longStepSeconds: 120,
    stepLines: 10,
    logLines: 100_000,
    logSeconds: 15,
    logRepetitions: 3,
    cutEveryMs: 2_000,
    concurrency: [1, 10, 50],
    concurrencyRepetitions: 2,
    concurrencyStepSeconds: 10,
    settleMs: 3_000,
    startupRepetitions: 30,
    smallLogMegabytes: 1,
    bigLogMegabytes: 100,
    bigLogRepetitions: 2,
  },
};

/** Parsed command line. */
export interface Options {
  /** What to measure. */
  settings: Settings;
  /** A checkout of the bash plugin to compare with, if any. */
  baseline?: string;
  /** A checkout of this plugin at an earlier commit, for the steps part, if any. */
  before?: string;
  /** Where to write the results as JSON. */
  json?: string;
  /** Where to write the markdown tables (they are printed too). */
  markdown?: string;
  /** Render the tables of an earlier run's JSON instead of measuring. */
  fromJson?: string;
  /** The parts to run. */
  phases: Phase[];
  /** Show usage and stop. */
  help: boolean;
}

/** The usage text. */
export const USAGE =
  `usage: deno task bench [--quick] [--baseline PATH] [--before PATH] [--json FILE]
                       [--markdown FILE] [--only steps,logs,concurrency,startup,biglog]
       deno task bench --from-json FILE [--markdown FILE]

Runs the same steps through this plugin and, with --baseline, through a checkout of the bash
plugin (muhlba91/kubernetes-buildkite-plugin; it needs kubectl, jq and jsonnet), each hook as
the Buildkite agent runs it, on control planes of its own; prints markdown tables.

  --quick          a few minutes: fewer runs, shorter steps, 20,000 log lines, 1 and 10
                   concurrent steps, 10 start-ups each, a 20 MB log (default: the full run,
                   about 45 minutes)
  --baseline PATH  the bash plugin's checkout (never part of this repository)
  --before PATH    a checkout of this plugin at an earlier commit, with its node_modules
                   (git worktree add PATH COMMIT, then npm ci there): the steps part runs
                   it too, as it runs this plugin, and compares the two; the other parts
                   leave it out
  --json FILE      every run's figures and the summary, as JSON
  --markdown FILE  the tables, as printed
  --only PHASES    steps (latency, CPU, memory, API requests), logs (fidelity with cut
                   connections), concurrency, startup (each subcommand against an empty
                   Deno program), biglog (the command hook's memory streaming 100 MB of
                   log against 1 MB; this plugin only); comma-separated (default: all)
  --from-json FILE print the tables of an earlier run from its --json file, measuring nothing`;

/** Parses `deno task bench` arguments; throws with a message for bad ones. */
export function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      baseline: { type: "string" },
      before: { type: "string" },
      json: { type: "string" },
      markdown: { type: "string" },
      only: { type: "string" },
      "from-json": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const phases = values.only === undefined
    ? [...PHASES]
    : values.only.split(",").map((part) => part.trim()).filter(Boolean);
  for (const phase of phases) {
    if (!(PHASES as readonly string[]).includes(phase)) {
      throw new Error(`--only: unknown part ${JSON.stringify(phase)}; use ${PHASES.join(", ")}`);
    }
  }
  if (phases.length === 0) throw new Error(`--only: name at least one of ${PHASES.join(", ")}`);
  if (values.before !== undefined && !phases.includes("steps")) {
    throw new Error(
      `--before: only the steps part runs the earlier checkout, and --only ${values.only} ` +
        "leaves it out; add steps to --only, or leave --before out",
    );
  }
  return {
    settings: MODES[values.quick ? "quick" : "full"],
    baseline: values.baseline,
    before: values.before,
    json: values.json,
    markdown: values.markdown,
    fromJson: values["from-json"],
    phases: phases as Phase[],
    help: values.help,
  };
}
