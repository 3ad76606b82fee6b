/**
 * The benchmark's results as markdown tables: each figure for this plugin and the baseline
 * as median (min–max) over the runs, the ratio baseline / ours of the medians, and the
 * targets next to what was measured. With this plugin at an earlier commit (`--before`), the
 * steps part has a table of its own against it, and two targets.
 *
 * @module
 */

import { type CountedWindow, netRequestsInView, type RequestView } from "./api_requests.ts";
import type { BigLogRecord, BigLogResult } from "./big_log.ts";
import type { PluginName } from "./hooks.ts";
import type {
  ConcurrencyRecord,
  ConcurrencyResult,
  LogsResult,
  StepRecord,
  StepsResult,
} from "./scenarios.ts";
import { STARTUP_PROGRAMS, type StartupProgram, type StartupResult } from "./startup.ts";
import { ratio, summarize, type Summary } from "./statistics.ts";

/** Everything measured in one benchmark run. */
export interface Results {
  /**
   * The plugins measured: `ours`, `baseline` when a checkout was given, and `before` when a
   * checkout of this plugin at an earlier commit was (in the steps part alone).
   */
  plugins: PluginName[];
  /** The steps part, if it ran. */
  steps?: StepsResult;
  /** The logs part, if it ran. */
  logs?: LogsResult;
  /** The concurrency part, if it ran. */
  concurrency?: ConcurrencyResult;
  /** The start-up part, if it ran (runs before it had none). */
  startup?: StartupResult;
  /** The big log part, if it ran (runs before it had none). */
  biglog?: BigLogResult;
}

/** One figure for every plugin measured. */
export interface Row {
  /** What is measured, with its unit. */
  figure: string;
  /** This plugin's runs, if any. */
  ours?: Summary;
  /** The bash plugin's runs, if any. */
  baseline?: Summary;
  /** This plugin's runs at an earlier commit, if any. */
  before?: Summary;
  /** Digits after the decimal point. */
  digits: number;
  /** Whether other / ours means something for this figure. */
  compare: boolean;
}

/** The plugin a table sets beside this one. */
export type Other = Exclude<PluginName, "ours">;

/** A titled table. */
export interface Table {
  /** Shown in bold above the table. */
  title: string;
  /** Whose figures are beside this plugin's (default: the bash plugin's). */
  other?: Other;
  /** One row per figure. */
  rows: Row[];
}

/** How the report names what it knows of the run beyond its figures. */
export interface ReportOptions {
  /** The commit of the earlier checkout of this plugin (`--before`), if known. */
  beforeCommit?: string;
}

/** A target and whether this plugin met it. */
export interface TargetCheck {
  /** The target, as the issue states it. */
  target: string;
  /** This plugin's figures (and the baseline's, where the target compares). */
  measured: string;
  /** Undefined when it could not be judged (not measured, or no baseline). */
  met?: boolean;
}

const MIB = 1024 * 1024;

function byPlugin<T extends { plugin: PluginName }>(records: T[], plugin: PluginName): T[] {
  return records.filter((record) => record.plugin === plugin);
}

function row<T extends { plugin: PluginName }>(
  figure: string,
  records: T[],
  value: (record: T) => number | undefined,
  options: { digits: number; compare?: boolean },
): Row {
  const values = (plugin: PluginName) =>
    byPlugin(records, plugin).map(value).filter((x): x is number => x !== undefined);
  return {
    figure,
    ours: summarize(values("ours")),
    baseline: summarize(values("baseline")),
    before: summarize(values("before")),
    digits: options.digits,
    compare: options.compare ?? true,
  };
}

const D0 = { digits: 0 };
const D1 = { digits: 1 };
const D2 = { digits: 2 };

function stepCpu(record: StepRecord): number {
  return record.command.cpuSeconds + (record.preExit?.cpuSeconds ?? 0);
}

/** A step window's requests less the background, in a view; undefined without windows. */
function net(
  window: CountedWindow | undefined,
  idle: readonly CountedWindow[],
  view: RequestView,
): number | undefined {
  return window && idle.length > 0 ? netRequestsInView(window, idle, view) : undefined;
}

const VIEW_NAMES: Record<RequestView, string> = {
  "all": "all",
  "without-watches": "watches left out",
};

/** The short and the long step's scenario names, in the order they ran. */
function stepScenarios(steps: StepsResult): string[] {
  return [...new Set(steps.runs.map((run) => run.scenario))];
}

/** The short step's runs and the long step's (none without a long step). */
function stepRuns(steps: StepsResult): { short: StepRecord[]; long: StepRecord[] } {
  const [short, long] = stepScenarios(steps);
  return {
    short: steps.runs.filter((run) => run.scenario === short),
    long: long ? steps.runs.filter((run) => run.scenario === long) : [],
  };
}

/** Latency, CPU and memory per step: the rows of the per-step table but the API requests. */
function stepCostRows(steps: StepsResult): Row[] {
  const [short, long] = stepScenarios(steps);
  const { short: shortRuns, long: longRuns } = stepRuns(steps);
  const rows: Row[] = [
    row("Hook start → Job created (s)", shortRuns, (run) => run.jobCreatedSeconds, D2),
    row("Container exit → hook exit (s)", shortRuns, (run) => run.afterExitSeconds, D2),
    row("CPU, command hook (s)", shortRuns, (run) => run.command.cpuSeconds, D2),
    row("CPU, pre-exit hook (s)", shortRuns, (run) => run.preExit?.cpuSeconds, D2),
    row(`CPU per step, ${short} (s)`, shortRuns, stepCpu, D2),
  ];
  if (long) rows.push(row(`CPU per step, ${long} (s)`, longRuns, stepCpu, D2));
  rows.push(
    row("Peak memory, command hook (MiB)", shortRuns, (run) => run.command.peakBytes / MIB, D0),
    row(
      "Peak memory, pre-exit hook (MiB)",
      shortRuns,
      (run) => run.preExit && run.preExit.peakBytes / MIB,
      D0,
    ),
  );
  return rows;
}

/** The per-step table: latency, CPU, memory, API requests. */
export function stepsTable(steps: StepsResult): Table {
  const [short, long] = stepScenarios(steps);
  const { short: shortRuns, long: longRuns } = stepRuns(steps);
  const rows = stepCostRows(steps);
  const idle = steps.background.windows;
  for (const view of ["all", "without-watches"] as const) {
    for (const [scenario, runs] of [[short, shortRuns], [long, longRuns]] as const) {
      if (!scenario) continue;
      rows.push(
        row(
          `API requests per step, ${scenario}, ${VIEW_NAMES[view]}`,
          runs,
          (run) => net(run.window, idle, view),
          D0,
        ),
      );
    }
  }
  return { title: "Per step", rows };
}

/**
 * This plugin against itself at an earlier commit, both run in turns in the same steps part:
 * the per-step table's latency, CPU and memory (its API requests are left out here; every
 * run's are in the JSON).
 */
export function beforeTable(steps: StepsResult, options: ReportOptions = {}): Table {
  const commit = options.beforeCommit ? ` (commit ${options.beforeCommit.slice(0, 7)})` : "";
  return {
    title: `This plugin against itself before${commit}`,
    other: "before",
    rows: stepCostRows(steps),
  };
}

/** Whether the steps part ran this plugin at an earlier commit too. */
function measuredBefore(steps: StepsResult | undefined): steps is StepsResult {
  return steps !== undefined && steps.runs.some((run) => run.plugin === "before");
}

/** The log-fidelity table: lost, duplicated and garbled lines per cut pattern. */
export function logsTable(logs: LogsResult): Table {
  const rows: Row[] = [];
  for (const scenario of new Set(logs.runs.map((run) => run.scenario))) {
    const runs = logs.runs.filter((run) => run.scenario === scenario);
    rows.push(
      row(`Lines lost, ${scenario}`, runs, (run) => run.fidelity.lost, D0),
      row(`Lines duplicated, ${scenario}`, runs, (run) => run.fidelity.duplicated, D0),
      row(`Lines garbled, ${scenario}`, runs, (run) => run.fidelity.garbled, D0),
      row(`Connection cuts, ${scenario}`, runs, (run) => run.cuts, { digits: 0, compare: false }),
    );
  }
  return { title: "Log fidelity", rows };
}

/** The concurrency table: per number of concurrent steps. */
export function concurrencyTable(concurrency: ConcurrencyResult): Table {
  const rows: Row[] = [];
  for (const steps of new Set(concurrency.runs.map((run) => run.steps))) {
    const runs: ConcurrencyRecord[] = concurrency.runs.filter((run) => run.steps === steps);
    const idle = concurrency.background.windows;
    const perStep = (view: RequestView) => (run: ConcurrencyRecord) => {
      const requests = net(run.window, idle, view);
      return requests === undefined ? undefined : requests / steps;
    };
    rows.push(
      row(`${steps} at once: wall time (s)`, runs, (run) => run.wallSeconds, D1),
      row(
        `${steps} at once: API requests, all steps`,
        runs,
        (run) => net(run.window, idle, "all"),
        D0,
      ),
      row(`${steps} at once: API requests per step, all`, runs, perStep("all"), D1),
      row(
        `${steps} at once: API requests per step, watches left out`,
        runs,
        perStep("without-watches"),
        D1,
      ),
      row(
        `${steps} at once: peak memory of all hooks (MiB)`,
        runs,
        (run) => run.peakBytes / MIB,
        D0,
      ),
      row(`${steps} at once: CPU of all hooks (s)`, runs, (run) => run.cpuSeconds, D1),
      row(`${steps} at once: failed steps`, runs, (run) => run.failedSteps, D0),
    );
  }
  return { title: "Concurrent steps", rows };
}

/**
 * The requests of the short step's windows by verb, resource and status code (medians,
 * background included): which requests are the plugin's own, which the cluster's.
 */
export function requestsTable(steps: StepsResult): Table {
  const [short] = stepScenarios(steps);
  const runs = steps.runs.filter((run) => run.scenario === short && run.window);
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.window!.counts)))].sort();
  const rows = keys.map((key) =>
    row(key, runs, (run) => run.window!.counts[key] ?? 0, { digits: 0, compare: false })
  ).filter((entry) => (entry.ours?.median ?? 0) > 0 || (entry.baseline?.median ?? 0) > 0);
  return {
    title: `API requests in the window of one ${short}, by request (background included)`,
    rows,
  };
}

/** The two sizes of the big log part: the small log and the big one, MB. */
export function bigLogSizes(biglog: BigLogResult): { small: number; big: number } {
  const sizes = biglog.runs.map((run) => run.megabytes);
  return { small: Math.min(...sizes), big: Math.max(...sizes) };
}

/** Each big log run's peak less the small log's of the same run and plugin, MiB. */
function bigLogDifferences(biglog: BigLogResult): { plugin: PluginName; mib: number }[] {
  const { small, big } = bigLogSizes(biglog);
  const fine = biglog.runs.filter((run) => run.errors.length === 0);
  return fine.filter((run) => run.megabytes === big).flatMap((run) => {
    const twin = fine.find((other) =>
      other.megabytes === small && other.plugin === run.plugin &&
      other.repetition === run.repetition
    );
    return twin
      ? [{ plugin: run.plugin, mib: (run.command.peakBytes - twin.command.peakBytes) / MIB }]
      : [];
  });
}

function megabytesPerSecond(bytes: number, from?: number, to?: number): number | undefined {
  return from === undefined || to === undefined || to <= from
    ? undefined
    : bytes / 1e6 / ((to - from) / 1000);
}

/** The big log table: peak memory at both sizes, their difference, throughput, lines lost. */
export function bigLogTable(biglog: BigLogResult): Table {
  const { small, big } = bigLogSizes(biglog);
  const of = (megabytes: number) => biglog.runs.filter((run) => run.megabytes === megabytes);
  const fine = (runs: BigLogRecord[]) => runs.filter((run) => run.errors.length === 0);
  const peak = (run: BigLogRecord) => run.command.peakBytes / MIB;
  const failed = biglog.runs.filter((run) => run.errors.length > 0).length;
  const runsOfEach = Math.max(of(small).length, of(big).length);
  return {
    title: `Streaming a big log, the command hook (runs of each size: ${runsOfEach}; ` +
      `failed: ${failed}, left out but for lines lost)`,
    rows: [
      row(`Peak memory, ${small} MB log (MiB)`, fine(of(small)), peak, D1),
      row(`Peak memory, ${big} MB log (MiB)`, fine(of(big)), peak, D1),
      row(
        `Peak memory, ${big} MB less ${small} MB, same run (MiB)`,
        bigLogDifferences(biglog),
        (pair) => pair.mib,
        D1,
      ),
      row(
        `Throughput, ${big} MB log, first line → last in the build log (MB/s)`,
        fine(of(big)),
        (run) => megabytesPerSecond(run.tally.bytes, run.tally.firstLineAt, run.tally.lastLineAt),
        D1,
      ),
      row(
        `The step's own printing, ${big} MB log, container clock (MB/s)`,
        fine(of(big)),
        (run) =>
          megabytesPerSecond(run.tally.bytes, run.tally.containerStart, run.tally.containerEnd),
        D1,
      ),
      row(`Lines lost, ${small} MB log`, of(small), (run) => run.tally.lost, D0),
      row(`Lines lost, ${big} MB log`, of(big), (run) => run.tally.lost, D0),
    ],
  };
}

/** Every table of the results (the start-up part has a layout of its own: `renderStartup`). */
export function tables(results: Results, options: ReportOptions = {}): Table[] {
  return [
    ...(results.steps ? [stepsTable(results.steps)] : []),
    ...(measuredBefore(results.steps) ? [beforeTable(results.steps, options)] : []),
    ...(results.steps ? [requestsTable(results.steps)] : []),
    ...(results.logs ? [logsTable(results.logs)] : []),
    ...(results.concurrency ? [concurrencyTable(results.concurrency)] : []),
    ...(results.biglog ? [bigLogTable(results.biglog)] : []),
  ];
}

/** One program's start-up figures, over its runs that did their work. */
export interface StartupFigures {
  /** Which program. */
  program: StartupProgram;
  /** Its runs that did their work. */
  runs: number;
  /** Its runs that failed (left out of the figures). */
  failed: number;
  /** Process start → exit, seconds. */
  seconds?: Summary;
  /** Peak memory, bytes. */
  peakBytes?: Summary;
}

/** Each program's start-up figures, the empty program first. */
export function startupFigures(startup: StartupResult): StartupFigures[] {
  return STARTUP_PROGRAMS.map((program) => {
    const runs = startup.runs.filter((run) => run.program === program);
    const fine = runs.filter((run) => run.errors.length === 0);
    return {
      program,
      runs: fine.length,
      failed: runs.length - fine.length,
      seconds: summarize(fine.map((run) => run.seconds)),
      peakBytes: summarize(fine.map((run) => run.peakBytes)),
    };
  });
}

const STARTUP_NAMES: Record<StartupProgram, string> = {
  empty: "Empty Deno program",
  version: "`version`",
  "--help": "`--help`",
  cleanup: "`cleanup` (no Job to delete)",
  render: "`render`",
};

function scaled(summary: Summary | undefined, factor: number): Summary | undefined {
  return summary && {
    ...summary,
    median: summary.median * factor,
    min: summary.min * factor,
    max: summary.max * factor,
  };
}

function formatTimes(value: number | undefined): string {
  return value === undefined ? "—" : `${value.toFixed(2)}×`;
}

/** The start-up table: each program's wall time and peak memory, and their ratio to Deno's. */
export function renderStartup(startup: StartupResult): string {
  const figures = startupFigures(startup);
  const empty = figures.find((entry) => entry.program === "empty");
  const rows = figures.map((entry) => [
    STARTUP_NAMES[entry.program],
    formatSummary(scaled(entry.seconds, 1000), 0),
    formatTimes(ratio(entry.seconds?.median, empty?.seconds?.median)),
    formatSummary(scaled(entry.peakBytes, 1 / MIB), 1),
    formatTimes(ratio(entry.peakBytes?.median, empty?.peakBytes?.median)),
    entry.failed > 0 ? `${entry.runs} (${entry.failed} failed)` : `${entry.runs}`,
  ]);
  return `**Start-up, process start → exit, each program in turn with an empty Deno program**\n\n${
    markdownTable(
      ["Program", "Wall time (ms)", "× empty", "Peak memory (MiB)", "× empty", "Runs"],
      rows,
    )
  }`;
}

function number(value: number, digits: number): string {
  return value.toFixed(digits);
}

/** `median (min–max)`, or the value alone when all runs agree, or `—` when not measured. */
export function formatSummary(summary: Summary | undefined, digits: number): string {
  if (!summary) return "—";
  const median = number(summary.median, digits);
  const min = number(summary.min, digits);
  const max = number(summary.max, digits);
  return min === max ? median : `${median} (${min}–${max})`;
}

function formatRatio(row: Row, other: Other): string {
  const value = row.compare ? ratio(row[other]?.median, row.ours?.median) : undefined;
  return value === undefined ? "—" : `${value.toFixed(1)}×`;
}

/** The column headers of the other plugin's figures and of the ratio. */
const OTHER_COLUMNS: Record<Other, { figures: string; ratio: string }> = {
  baseline: { figures: "Bash plugin", ratio: "Bash / this" },
  before: { figures: "Before", ratio: "Before / this" },
};

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** A markdown table with padded columns, as `deno fmt` writes it. */
export function markdownTable(header: string[], rows: string[][]): string {
  const cells = [header, ...rows].map((line) => line.map(cell));
  const widths = header.map((_, column) =>
    Math.max(3, ...cells.map((line) => line[column].length))
  );
  const render = (line: string[]) =>
    `| ${line.map((text, column) => text.padEnd(widths[column])).join(" | ")} |`;
  return [
    render(cells[0]),
    render(widths.map((width) => "-".repeat(width))),
    ...cells.slice(1).map(render),
  ]
    .join("\n");
}

/**
 * A table as markdown: the figure, ours, the other plugin's (the baseline's unless the table
 * says), and other / ours.
 */
export function renderTable(table: Table, withOther: boolean): string {
  const other = table.other ?? "baseline";
  const withRatio = withOther && table.rows.some((entry) => entry.compare);
  const header = [
    "Figure",
    "This plugin",
    ...(withOther ? [OTHER_COLUMNS[other].figures] : []),
    ...(withRatio ? [OTHER_COLUMNS[other].ratio] : []),
  ];
  const rows = table.rows.map((entry) => [
    entry.figure,
    formatSummary(entry.ours, entry.digits),
    ...(withOther ? [formatSummary(entry[other], entry.digits)] : []),
    ...(withRatio ? [formatRatio(entry, other)] : []),
  ]);
  return `**${table.title}**\n\n${markdownTable(header, rows)}`;
}

/** The most wall time of each subcommand with a target, in empty Deno programs (medians). */
export const STARTUP_TARGETS: Partial<Record<StartupProgram, number>> = {
  version: 1.5,
  cleanup: 3,
};

/** How much more the command hook may hold streaming the big log than the small one, MiB. */
export const BIG_LOG_MEMORY_TARGET_MIB = 10;

function startupTargets(startup: StartupResult): TargetCheck[] {
  const figures = startupFigures(startup);
  const empty = figures.find((entry) => entry.program === "empty");
  return Object.entries(STARTUP_TARGETS).map(([program, most]) => {
    const entry = figures.find((figure) => figure.program === program);
    const times = ratio(entry?.seconds?.median, empty?.seconds?.median);
    const failed = entry?.failed ? `; ${entry.failed} runs failed` : "";
    return {
      target: `\`${program}\` at most ${most}× the wall time of an empty Deno program (medians)`,
      measured: times === undefined
        ? `not measured${failed}`
        : `${formatSummary(scaled(entry?.seconds, 1000), 0)} ms vs ${
          formatSummary(scaled(empty?.seconds, 1000), 0)
        } ms (${times.toFixed(2)}×)${failed}`,
      met: times === undefined ? (failed ? false : undefined) : times <= most! && !failed,
    };
  });
}

function bigLogTarget(biglog: BigLogResult): TargetCheck {
  const { small, big } = bigLogSizes(biglog);
  const difference = summarize(byPlugin(bigLogDifferences(biglog), "ours").map((pair) => pair.mib));
  const failed = byPlugin(biglog.runs, "ours").filter((run) => run.errors.length > 0).length;
  const failures = failed > 0 ? `; ${failed} runs failed` : "";
  return {
    target: `Command hook's peak memory streaming ${big} MB of log less than ` +
      `${BIG_LOG_MEMORY_TARGET_MIB} MiB above its peak for ${small} MB (median of the runs)`,
    measured: difference
      ? `${formatSummary(difference, 1)} MiB${failures}`
      : `not measured${failures}`,
    met: difference
      ? difference.median < BIG_LOG_MEMORY_TARGET_MIB && failed === 0
      : (failed > 0 ? false : undefined),
  };
}

/** How close the long step's requests must be to the short step's to call them independent. */
export const INDEPENDENCE_TOLERANCE = { relative: 0.15, absolute: 3 };

/**
 * How far this plugin's median may be above the earlier checkout's and still be "no worse":
 * a fraction of the earlier median, or seconds, whichever is more. Single runs on the real node
 * spread over 0.07–0.08 s around medians of 0.35 s and 1.1 s (bench/results/2026-12-02-full.json):
 * a median a few hundredths above another is noise, not a regression.
 */
export const NO_WORSE_TOLERANCE = { relative: 0.05, absoluteSeconds: 0.05 };

/** The latencies this plugin must keep no worse than at the earlier commit. */
const NO_WORSE_FIGURES: { name: string; value: (run: StepRecord) => number | undefined }[] = [
  { name: "Hook start → Job created", value: (run) => run.jobCreatedSeconds },
  { name: "Container exit → hook exit", value: (run) => run.afterExitSeconds },
];

function signedSeconds(seconds: number): string {
  return `${seconds < 0 ? "-" : "+"}${Math.abs(seconds).toFixed(2)} s`;
}

/** The short step's latencies against the earlier checkout's: median, tolerance, verdict. */
function beforeTargets(steps: StepsResult): TargetCheck[] {
  const { short } = stepRuns(steps);
  const { relative, absoluteSeconds } = NO_WORSE_TOLERANCE;
  return NO_WORSE_FIGURES.map(({ name, value }) => {
    const summary = (plugin: PluginName) =>
      summarize(byPlugin(short, plugin).flatMap((run) => value(run) ?? []));
    const ours = summary("ours");
    const before = summary("before");
    const target = `${name} no worse than before (median; tolerance: ${relative * 100} % of ` +
      `before's, at least ${absoluteSeconds} s)`;
    if (!ours || !before) return { target, measured: "not measured" };
    const allowed = Math.max(absoluteSeconds, relative * before.median);
    const worse = ours.median - before.median;
    return {
      target,
      measured: `${formatSummary(ours, 2)} s vs ${formatSummary(before, 2)} s before ` +
        `(${signedSeconds(worse)}; allowed ${signedSeconds(allowed)})`,
      // In whole milliseconds, so a difference of exactly the tolerance is not lost to
      // floating point.
      met: Math.round(worse * 1000) <= Math.round(allowed * 1000),
    };
  });
}

/** The targets, judged on this plugin's medians. */
export function checkTargets(results: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const steps = results.steps;
  if (steps) {
    const [short, long] = stepScenarios(steps);
    const ours = byPlugin(steps.runs, "ours");
    const afterExit = summarize(
      ours.filter((run) => run.scenario === short).flatMap((run) =>
        run.afterExitSeconds === undefined ? [] : [run.afterExitSeconds]
      ),
    );
    checks.push({
      target: "Container exit → hook exit under 1 s (median)",
      measured: afterExit ? `${formatSummary(afterExit, 2)} s` : "not measured",
      met: afterExit && afterExit.median < 1,
    });

    const requests = (scenario: string | undefined, view: RequestView) =>
      summarize(
        ours.filter((run) => run.scenario === scenario).flatMap((run) => {
          const value = net(run.window, steps.background.windows, view);
          return value === undefined ? [] : [value];
        }),
      );
    const shortRequests = requests(short, "without-watches");
    const longRequests = requests(long, "without-watches");
    const shortAll = requests(short, "all");
    const longAll = requests(long, "all");
    const tolerance = shortRequests &&
      Math.max(
        INDEPENDENCE_TOLERANCE.absolute,
        INDEPENDENCE_TOLERANCE.relative * shortRequests.median,
      );
    const { relative, absolute } = INDEPENDENCE_TOLERANCE;
    checks.push({
      target: `API requests per step independent of step duration (watches left out: ` +
        `${long ?? "the long step"} within ±${relative * 100} %, at least ±${absolute}, ` +
        `of ${short})`,
      measured: shortRequests && longRequests && shortAll && longAll
        ? `${formatSummary(shortRequests, 0)} → ${formatSummary(longRequests, 0)}; ` +
          `all requests: ${formatSummary(shortAll, 0)} → ${formatSummary(longAll, 0)}`
        : "not measured",
      met: shortRequests && longRequests && tolerance !== undefined
        ? Math.abs(longRequests.median - shortRequests.median) <= tolerance
        : undefined,
    });

    const cpu = (plugin: PluginName, scenario: string) =>
      summarize(
        byPlugin(steps.runs, plugin).filter((run) => run.scenario === scenario).map(stepCpu),
      );
    for (const scenario of [short, long].filter((name): name is string => Boolean(name))) {
      const oursCpu = cpu("ours", scenario);
      const baselineCpu = cpu("baseline", scenario);
      checks.push({
        target: `CPU per step at most a fifth of the bash plugin's (${scenario})`,
        measured: oursCpu && baselineCpu
          ? `${formatSummary(oursCpu, 2)} s vs ${formatSummary(baselineCpu, 2)} s (${
            (baselineCpu.median / oursCpu.median).toFixed(1)
          }×)`
          : oursCpu
          ? `${formatSummary(oursCpu, 2)} s; no bash plugin measured`
          : "not measured",
        met: oursCpu && baselineCpu ? oursCpu.median <= baselineCpu.median / 5 : undefined,
      });
    }
    if (measuredBefore(steps)) checks.push(...beforeTargets(steps));
  }
  if (results.startup) checks.push(...startupTargets(results.startup));
  if (results.biglog) checks.push(bigLogTarget(results.biglog));
  if (results.logs) {
    const ours = byPlugin(results.logs.runs, "ours");
    const lost = ours.reduce((sum, run) => sum + run.fidelity.lost, 0);
    const duplicated = ours.reduce((sum, run) => sum + run.fidelity.duplicated, 0);
    const garbled = ours.reduce((sum, run) => sum + run.fidelity.garbled, 0);
    checks.push({
      target: "Zero lines lost or duplicated (connections cut)",
      measured: `${lost} lost, ${duplicated} duplicated, ${garbled} garbled in ${ours.length} runs`,
      met: ours.length > 0 ? lost + duplicated + garbled === 0 : undefined,
    });
  }
  return checks;
}

/** The targets as a markdown table. */
export function renderTargets(checks: TargetCheck[]): string {
  const verdict = (met: boolean | undefined) => met === undefined ? "—" : met ? "yes" : "**no**";
  return `**Targets**\n\n${
    markdownTable(
      ["Target", "Measured (this plugin)", "Met"],
      checks.map((check) => [check.target, check.measured, verdict(check.met)]),
    )
  }`;
}

/** Every table and the targets, as markdown. */
export function renderReport(results: Results, options: ReportOptions = {}): string {
  const checks = checkTargets(results);
  return [
    // A table of which no row has the other plugin's figure (the big log) shows no column for it.
    ...tables(results, options).map((table) => {
      const other = table.other ?? "baseline";
      return renderTable(
        table,
        results.plugins.includes(other) && table.rows.some((entry) => entry[other]),
      );
    }),
    ...(results.startup ? [renderStartup(results.startup)] : []),
    ...(checks.length > 0 ? [renderTargets(checks)] : []),
  ].join("\n\n") + "\n";
}
