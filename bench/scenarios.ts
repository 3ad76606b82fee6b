/**
 * The measurements. Every step runs the same way for both plugins: a fresh Buildkite job
 * id, the job's environment files, the `command` hook (and, where cleanup is measured, the
 * `pre-exit` hook) run as the agent runs them, each in a measured cgroup.
 *
 * - steps: a short and a long step, one after another, the plugins taking turns to go first;
 *   this plugin at an earlier commit (`--before`) runs here, and only here, as a third.
 *   Per step: hook start → Job seen by a watch; container end (its own clock, printed last)
 *   → hook exit; CPU and peak memory of each hook; API requests over a window from before
 *   the hook to a few seconds after the pre-exit hook, and over idle windows as long as the
 *   step windows (the report subtracts their rate).
 * - logs: a step printing numbered lines for several seconds, both plugins' API traffic
 *   through a TCP proxy whose connections are all cut once (when half the lines have
 *   reached the build log) or periodically; lines lost, duplicated, garbled.
 * - concurrency: N steps started at once: wall time, API requests, the peak memory of all
 *   their hooks together (one parent cgroup), and the steps that failed or lost output.
 *
 * The start-up and big log parts, which use the helpers exported here, have modules of their
 * own: startup.ts and big_log.ts.
 *
 * @module
 */

import { sleep } from "../tests/cluster/informer.ts";
import {
  type CountedWindow,
  countsObject,
  difference,
  scrapeRequestCounts,
  totalRequests,
} from "./api_requests.ts";
import {
  AGENT_TOKEN_SECRET,
  type BenchCluster,
  clearJobs,
  JobCreations,
  startApiProxy,
} from "./bench_cluster.ts";
import { hookEnvironment, writeJobEnvironmentFiles } from "./hook_env.ts";
import {
  EXPORTS_FILE_VARIABLE,
  hookExports,
  type HookName,
  type HookRun,
  type PluginName,
  type PluginUnderTest,
  runHook,
} from "./hooks.ts";
import { checkNumberedLines, endTime, type LogFidelity } from "./log_fidelity.ts";
import type { MeasuredGroup } from "./measured_group.ts";
import type { Settings } from "./options.ts";
import { sleepStep, type Step, streamingStep } from "./steps.ts";

/** The plugin configuration of every step, the same for both plugins. */
export const PLUGIN_CONFIGURATION = {
  image: "alpine:3",
  // The bash plugin's checkout container needs its own image; both run without one.
  "init-image": "",
  // The bash plugin always gives the checkout container an agent token from a Secret.
  "agent-token-secret-name": AGENT_TOKEN_SECRET,
};

/** What every measurement needs. */
export interface BenchContext {
  /** What to measure. */
  settings: Settings;
  /** This plugin, then the baseline if one was given. */
  plugins: PluginUnderTest[];
  /** This plugin at an earlier commit, if one was given: the steps part runs it too. */
  before?: PluginUnderTest;
  /** The hooks' working directory; job environment files go here too. */
  workDir: string;
  /** PATH of the hooks. */
  hookPath: string;
  /** HOME of the hooks. */
  home: string;
  /** The agent-style wrapper of each plugin's hooks. */
  wrappers: Record<`${PluginName}/${HookName}`, string>;
  /** The benchmark's root cgroup (created). */
  groups: MeasuredGroup;
  /** Progress messages. */
  log: (message: string) => void;
  /** Aborts everything (the benchmark is being stopped). */
  signal: AbortSignal;
}

/** One hook's figures. */
export interface HookFigures {
  /** Exit status. */
  status: number;
  /** Start, ms since the epoch. */
  startedAt: number;
  /** Exit, ms since the epoch. */
  exitedAt: number;
  /** From start to exit. */
  seconds: number;
  /** CPU time of its process tree, seconds. */
  cpuSeconds: number;
  /** Peak memory of its process tree, bytes. */
  peakBytes: number;
  /** Processes still running when the hook exited (killed after their output closed). */
  leftBehind: number;
}

/** Requests counted over a window. */
export interface WindowFigures extends CountedWindow {
  /** All requests counted in the window. */
  requests: number;
}

/** One step through one plugin. */
export interface StepRecord {
  /** Which plugin ran it. */
  plugin: PluginName;
  /** Which step: `10 s step`, `100,000 lines, connections cut once halfway`… */
  scenario: string;
  /** Which run of the scenario (1…). */
  repetition: number;
  /** The Buildkite job id it ran as. */
  jobId: string;
  /** The command hook. */
  command: HookFigures;
  /** The pre-exit hook, where it ran. */
  preExit?: HookFigures;
  /** Hook start → the Job's ADDED event, seconds. */
  jobCreatedSeconds?: number;
  /** The container's end (its own clock) → the command hook's exit, seconds. */
  afterExitSeconds?: number;
  /** The numbered lines in the build log. */
  fidelity: LogFidelity;
  /** Connection cuts made during the step (log runs). */
  cuts?: number;
  /** API requests from before the command hook to after the pre-exit hook (steps part). */
  window?: WindowFigures;
  /** What went wrong: a non-zero exit, no end marker, lines that did not arrive once. */
  errors: string[];
  /** The end of the build log, kept for runs with errors. */
  outputTail?: string;
}

/** N steps at once through one plugin. */
export interface ConcurrencyRecord {
  /** Which plugin ran them. */
  plugin: PluginName;
  /** How many steps at once. */
  steps: number;
  /** Which run (1…). */
  repetition: number;
  /** First hook start → last hook exit, seconds. */
  wallSeconds: number;
  /** All the hooks' CPU time, seconds. */
  cpuSeconds: number;
  /** The peak memory of all the hooks together (one parent cgroup), bytes. */
  peakBytes: number;
  /** API requests from the first hook's start to a few seconds after the last one's exit. */
  window: WindowFigures;
  /** Steps that failed or lost output. */
  failedSteps: number;
  /** Processes the hooks left running when they exited. */
  leftBehind: number;
  /** What went wrong, per step. */
  errors: string[];
}

/** The idle windows of a control plane, for the background rate. */
export interface Background {
  /** Windows with no step running. */
  windows: WindowFigures[];
}

/** Results of the steps part. */
export interface StepsResult {
  /** The control plane's background requests. */
  background: Background;
  /** Every step run (the warm-ups excluded). */
  runs: StepRecord[];
}

/** Results of the logs part. */
export interface LogsResult {
  /** Every log run (the warm-ups excluded). */
  runs: StepRecord[];
}

/** Results of the concurrency part. */
export interface ConcurrencyResult {
  /** The control plane's background requests. */
  background: Background;
  /** Every run of N steps at once. */
  runs: ConcurrencyRecord[];
}

interface StepOptions {
  scenario: string;
  repetition: number;
  /** The kubeconfig the hooks use. */
  kubeconfig: string;
  /** The parent of the step's cgroups (created). */
  group: MeasuredGroup;
  /** Run the pre-exit hook after the command hook. */
  preExit: boolean;
  /** Output of the command hook as it arrives. */
  onOutput?: (text: string) => void;
}

/** A hook run's figures, as the records keep them. */
export function hookFigures(run: HookRun): HookFigures {
  return {
    status: run.status,
    startedAt: run.startedAt,
    exitedAt: run.exitedAt,
    seconds: (run.exitedAt - run.startedAt) / 1000,
    cpuSeconds: run.cpuSeconds,
    peakBytes: run.peakBytes,
    leftBehind: run.leftBehind,
  };
}

/** The last `lines` lines of a hook's output, kept for runs with errors. */
export function tail(output: string, lines = 30): string {
  return output.split("\n").slice(-lines).join("\n");
}

/** How `runMeasuredHook` runs a hook. */
export interface MeasuredHookOptions {
  /** The parent of the hook's group (created). */
  group: MeasuredGroup;
  /** The hook is killed after this long, ms. */
  limitMs: number;
  /** Output of the hook as it arrives. */
  onOutput?: (text: string) => void;
  /** Keep at most the end of the output, characters (`RunHookOptions.keepOutput`). */
  keepOutput?: number;
}

/** Runs a plugin's hook in a child group of `options.group`; notes whether it was killed. */
export async function runMeasuredHook(
  context: BenchContext,
  plugin: PluginUnderTest,
  hook: HookName,
  env: Record<string, string>,
  options: MeasuredHookOptions,
): Promise<{ run: HookRun; timedOut: boolean }> {
  context.signal.throwIfAborted();
  const group = await options.group.child(hook).create();
  const timeout = AbortSignal.timeout(options.limitMs);
  const run = await runHook(plugin, hook, {
    wrapper: context.wrappers[`${plugin.name}/${hook}`],
    env,
    cwd: context.workDir,
    group,
    onOutput: options.onOutput,
    keepOutput: options.keepOutput,
    signal: AbortSignal.any([context.signal, timeout]),
  });
  return { run, timedOut: timeout.aborted };
}

/** A fresh Buildkite job: its id, its environment files, and its hooks' whole environment. */
export interface PreparedJob {
  /** `BUILDKITE_JOB_ID`. */
  jobId: string;
  /** The environment of each of its hooks. */
  env: Record<string, string>;
  /** Removes its environment files. */
  remove(): Promise<void>;
}

/** Writes the environment files of a fresh job running `command` through `plugin`. */
export async function prepareJob(
  context: BenchContext,
  plugin: PluginUnderTest,
  options: { command: string; kubeconfig: string },
): Promise<PreparedJob> {
  const jobId = crypto.randomUUID();
  const job = { jobId, command: options.command, plugin: PLUGIN_CONFIGURATION };
  const files = await writeJobEnvironmentFiles(context.workDir, job);
  const env = {
    ...hookEnvironment(job, {
      path: context.hookPath,
      home: context.home,
      kubeconfig: options.kubeconfig,
      ...files,
    }),
    ...plugin.env,
  };
  const remove = async () => {
    await Deno.remove(files.envFile).catch(() => {});
    await Deno.remove(files.envJsonFile).catch(() => {});
  };
  return { jobId, env, remove };
}

/** The most a hook may take: its step's own time and ten minutes; it is killed after. */
export function hookLimitMs(step: Step): number {
  return (step.seconds + 600) * 1000;
}

/** Runs one step through a plugin: the command hook, then (optionally) the pre-exit hook. */
async function runStep(
  context: BenchContext,
  plugin: PluginUnderTest,
  step: Step,
  options: StepOptions,
): Promise<StepRecord> {
  const { jobId, env, remove } = await prepareJob(context, plugin, {
    command: step.command,
    kubeconfig: options.kubeconfig,
  });
  const limitMs = hookLimitMs(step);
  const exportsFile = `${context.workDir}/${jobId}.exports`;
  const command = await runMeasuredHook(
    context,
    plugin,
    "command",
    { ...env, [EXPORTS_FILE_VARIABLE]: exportsFile },
    { group: options.group, limitMs, onOutput: options.onOutput },
  );
  // As the agent does, the pre-exit hook gets what the command hook exported.
  const preExitEnv = { ...env, ...await hookExports(env, exportsFile) };
  await Deno.remove(exportsFile).catch(() => {});
  const preExit = options.preExit
    ? await runMeasuredHook(context, plugin, "pre-exit", preExitEnv, {
      group: options.group,
      limitMs,
    })
    : undefined;
  const output = command.run.output;
  const fidelity = checkNumberedLines(output, step.lines);
  const containerEnd = endTime(output);
  const errors: string[] = [];
  if (command.timedOut) errors.push(`the command hook was killed after ${limitMs / 1000} s`);
  if (command.run.status !== 0) errors.push(`the command hook exited ${command.run.status}`);
  if (preExit?.timedOut) errors.push(`the pre-exit hook was killed after ${limitMs / 1000} s`);
  if (preExit && preExit.run.status !== 0) {
    errors.push(`the pre-exit hook exited ${preExit.run.status}`);
  }
  if (containerEnd === undefined) errors.push("the end of the step's log never arrived");
  await remove();
  return {
    plugin: plugin.name,
    scenario: options.scenario,
    repetition: options.repetition,
    jobId,
    command: hookFigures(command.run),
    preExit: preExit && hookFigures(preExit.run),
    afterExitSeconds: containerEnd === undefined
      ? undefined
      : (command.run.exitedAt - containerEnd) / 1000,
    fidelity,
    errors,
    outputTail: errors.length > 0 ? tail(output) : undefined,
  };
}

function lineErrors(fidelity: LogFidelity): string[] {
  const errors: string[] = [];
  if (fidelity.lost > 0) errors.push(`${fidelity.lost} of ${fidelity.expected} lines lost`);
  if (fidelity.duplicated > 0) errors.push(`${fidelity.duplicated} lines printed again`);
  if (fidelity.garbled > 0) errors.push(`${fidelity.garbled} lines garbled`);
  return errors;
}

/** Each plugin runs one short step (command and pre-exit): caches warm, image on the node. */
export async function warmUp(
  context: BenchContext,
  cluster: BenchCluster,
  kubeconfig: string,
): Promise<void> {
  for (const plugin of context.plugins) {
    context.log(`warm-up: ${plugin.name}`);
    const group = await context.groups.child(`warm-up-${plugin.name}`).create();
    try {
      const record = await runStep(context, plugin, sleepStep(1, 1), {
        scenario: "warm-up",
        repetition: 0,
        kubeconfig,
        group,
        preExit: true,
      });
      if (record.errors.length > 0) {
        throw new Error(
          `warm-up of ${plugin.name} failed: ${record.errors.join("; ")}\n${record.outputTail}`,
        );
      }
    } finally {
      await group.remove();
    }
    await clearJobs(cluster);
  }
}

/** Counts the API server's requests while `body` runs, and a settling time after. */
async function countRequests<T>(
  context: BenchContext,
  cluster: BenchCluster,
  body: () => Promise<T>,
): Promise<{ result: T; window: WindowFigures }> {
  const before = await scrapeRequestCounts(cluster.api);
  const opened = performance.now();
  const result = await body();
  await sleep(context.settings.settleMs, context.signal);
  const after = await scrapeRequestCounts(cluster.api);
  const seconds = (performance.now() - opened) / 1000;
  const counts = difference(after, before);
  return {
    result,
    window: { requests: totalRequests(counts), seconds, counts: countsObject(counts) },
  };
}

/** Counts requests over `seconds` with no step running. */
async function idleWindow(
  context: BenchContext,
  cluster: BenchCluster,
  seconds: number,
): Promise<WindowFigures> {
  const before = await scrapeRequestCounts(cluster.api);
  const opened = performance.now();
  await sleep(seconds * 1000, context.signal);
  const after = await scrapeRequestCounts(cluster.api);
  const counts = difference(after, before);
  return {
    requests: totalRequests(counts),
    seconds: (performance.now() - opened) / 1000,
    counts: countsObject(counts),
  };
}

/**
 * The plugins in the order of a repetition (1…): the list rotated by one more each time, so
 * each goes first in turn (two plugins alternate).
 */
export function inOrder<T>(plugins: readonly T[], repetition: number): T[] {
  const shift = (repetition - 1) % Math.max(plugins.length, 1);
  return [...plugins.slice(shift), ...plugins.slice(0, shift)];
}

/** The steps part: latency, CPU, memory and API requests of a short and a long step. */
export async function measureSteps(
  context: BenchContext,
  cluster: BenchCluster,
): Promise<StepsResult> {
  const { settings } = context;
  const plugins = context.before ? [...context.plugins, context.before] : context.plugins;
  await warmUp({ ...context, plugins }, cluster, cluster.kubeconfigPath);
  const scenarios = [
    {
      name: `${settings.shortStepSeconds} s step`,
      step: sleepStep(settings.shortStepSeconds, settings.stepLines),
      repetitions: settings.shortRepetitions,
    },
    {
      name: `${settings.longStepSeconds} s step`,
      step: sleepStep(settings.longStepSeconds, settings.stepLines),
      repetitions: settings.longRepetitions,
    },
  ];
  const runs: StepRecord[] = [];
  const idle: WindowFigures[] = [];
  for (const scenario of scenarios) {
    for (let repetition = 1; repetition <= scenario.repetitions; repetition++) {
      let longest = 0;
      for (const plugin of inOrder(plugins, repetition)) {
        context.signal.throwIfAborted();
        context.log(`${scenario.name}, run ${repetition}/${scenario.repetitions}: ${plugin.name}`);
        const group = await context.groups
          .child(`steps/${plugin.name}-${scenario.step.lines}-${runs.length}`).create();
        const watch = await JobCreations.open(cluster.api);
        try {
          const { result: record, window } = await countRequests(
            context,
            cluster,
            () =>
              runStep(context, plugin, scenario.step, {
                scenario: scenario.name,
                repetition,
                kubeconfig: cluster.kubeconfigPath,
                group,
                preExit: true,
              }),
          );
          const createdAt = await watch.createdAt(record.jobId);
          record.jobCreatedSeconds = createdAt === undefined
            ? undefined
            : (createdAt - record.command.startedAt) / 1000;
          record.window = window;
          record.errors.push(...lineErrors(record.fidelity));
          if (createdAt === undefined) record.errors.push("no Job was seen for the step");
          runs.push(record);
          longest = Math.max(longest, window.seconds);
        } finally {
          await watch.close();
          await group.remove();
        }
        await clearJobs(cluster);
      }
      context.log(`${scenario.name}, run ${repetition}: idle window of ${longest.toFixed(0)} s`);
      idle.push(await idleWindow(context, cluster, longest));
    }
  }
  return { background: { windows: idle }, runs };
}

/** How the log runs' connections are cut. */
export type CutPattern = "once" | "periodic";

/** Calls `onHalf` once, as soon as the numbered line `half` has been printed. */
function halfwayWatcher(half: number, onHalf: () => void): (text: string) => void {
  const marker = `\nline-${String(half).padStart(6, "0")}\n`;
  let recent = "\n";
  let done = false;
  return (text) => {
    if (done) return;
    recent = (recent + text).slice(-(text.length + marker.length));
    if (recent.includes(marker)) {
      done = true;
      onHalf();
    }
  };
}

/** The logs part: numbered lines through a proxy whose connections are cut. */
export async function measureLogs(
  context: BenchContext,
  cluster: BenchCluster,
): Promise<LogsResult> {
  const { settings } = context;
  const apiProxy = await startApiProxy(cluster, context.workDir);
  const runs: StepRecord[] = [];
  try {
    await warmUp(context, cluster, apiProxy.kubeconfigPath);
    const step = streamingStep(settings.logLines, settings.logSeconds);
    const patterns: CutPattern[] = ["once", "periodic"];
    for (const pattern of patterns) {
      const lines = settings.logLines.toLocaleString("en-US");
      const scenario = pattern === "once"
        ? `${lines} lines, connections cut once halfway`
        : `${lines} lines, connections cut every ${settings.cutEveryMs / 1000} s`;
      for (let repetition = 1; repetition <= settings.logRepetitions; repetition++) {
        for (const plugin of inOrder(context.plugins, repetition)) {
          context.signal.throwIfAborted();
          context.log(`${scenario}, run ${repetition}/${settings.logRepetitions}: ${plugin.name}`);
          let cuts = 0;
          const cut = () => {
            apiProxy.proxy.cutAll();
            cuts++;
          };
          const group = await context.groups.child(`logs/${plugin.name}-${runs.length}`).create();
          const timer = pattern === "periodic" ? setInterval(cut, settings.cutEveryMs) : undefined;
          try {
            const record = await runStep(context, plugin, step, {
              scenario,
              repetition,
              kubeconfig: apiProxy.kubeconfigPath,
              group,
              preExit: false,
              onOutput: pattern === "once"
                ? halfwayWatcher(Math.ceil(step.lines / 2), cut)
                : undefined,
            });
            record.cuts = cuts;
            if (pattern === "once" && cuts === 0) {
              record.errors.push("the middle of the log never arrived, so nothing was cut");
            }
            runs.push(record);
          } finally {
            clearInterval(timer);
            await group.remove();
          }
          await clearJobs(cluster);
        }
      }
    }
  } finally {
    await apiProxy.close();
  }
  return { runs };
}

/** Starts `steps` steps at once through a plugin and waits for all of them. */
async function concurrentSteps(
  context: BenchContext,
  cluster: BenchCluster,
  plugin: PluginUnderTest,
  options: { steps: number; repetition: number },
): Promise<ConcurrencyRecord> {
  const { settings } = context;
  const step = sleepStep(settings.concurrencyStepSeconds, settings.stepLines);
  const group = await context.groups
    .child(`concurrency/${plugin.name}-${options.steps}-${options.repetition}`).create();
  try {
    const { result: records, window } = await countRequests(
      context,
      cluster,
      () =>
        Promise.all(
          Array.from({ length: options.steps }, async (_, index) =>
            runStep(context, plugin, step, {
              scenario: `${options.steps} concurrent`,
              repetition: options.repetition,
              kubeconfig: cluster.kubeconfigPath,
              group: await group.child(`step-${index}`).create(),
              preExit: false,
            })),
        ),
    );
    const usage = await group.usage();
    const errors = records.flatMap((record, index) =>
      [...record.errors, ...lineErrors(record.fidelity)].map((error) => `step ${index}: ${error}`)
    );
    const failed = records.filter((record) =>
      record.errors.length > 0 || lineErrors(record.fidelity).length > 0
    );
    return {
      plugin: plugin.name,
      steps: options.steps,
      repetition: options.repetition,
      wallSeconds: (Math.max(...records.map((record) => record.command.exitedAt)) -
        Math.min(...records.map((record) => record.command.startedAt))) / 1000,
      cpuSeconds: usage.cpuSeconds,
      peakBytes: usage.peakBytes,
      window,
      failedSteps: failed.length,
      leftBehind: records.reduce((sum, record) => sum + record.command.leftBehind, 0),
      errors,
    };
  } finally {
    await group.remove();
  }
}

/** The concurrency part: 1, 10 (and 50) steps at once. */
export async function measureConcurrency(
  context: BenchContext,
  cluster: BenchCluster,
): Promise<ConcurrencyResult> {
  const { settings } = context;
  await warmUp(context, cluster, cluster.kubeconfigPath);
  const runs: ConcurrencyRecord[] = [];
  const idle: WindowFigures[] = [];
  for (const steps of settings.concurrency) {
    for (let repetition = 1; repetition <= settings.concurrencyRepetitions; repetition++) {
      let longest = 0;
      for (const plugin of inOrder(context.plugins, repetition)) {
        context.signal.throwIfAborted();
        context.log(
          `${steps} concurrent steps, run ${repetition}/${settings.concurrencyRepetitions}: ${plugin.name}`,
        );
        const record = await concurrentSteps(context, cluster, plugin, { steps, repetition });
        runs.push(record);
        longest = Math.max(longest, record.window.seconds);
        await clearJobs(cluster);
      }
      context.log(`${steps} concurrent steps: idle window of ${longest.toFixed(0)} s`);
      idle.push(await idleWindow(context, cluster, longest));
    }
  }
  return { background: { windows: idle }, runs };
}
