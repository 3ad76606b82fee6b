/**
 * `deno task bench`: this plugin against the bash plugin it replaces (and, in the steps part,
 * against itself at an earlier commit), on control planes of the benchmark's own. What is
 * measured and how: scenarios.ts, startup.ts, big_log.ts, and the Performance section of
 * README.md.
 *
 * Everything the benchmark starts lives under `.state/bench/run-<pid>/` (control planes,
 * hook wrappers, job files) and in the cgroups `kbk-bench-<pid>` (every hook and what it
 * forks): however the run ends (SIGINT, SIGTERM, SIGHUP, an error), both are stopped and
 * removed; a run that was SIGKILLed is cleaned up by the next one.
 *
 * @module
 */

import { type Binaries, locateBinaries, REPOSITORY_ROOT } from "../tests/cluster/binaries.ts";
import { MEMORY_CONTROLLER } from "../tests/cluster/cgroups.ts";
import { isAlive, type ProcessRecord, readStartTime } from "../tests/cluster/processes.ts";
import { VERSION } from "../src/version.ts";
import { type BenchCluster, startBenchCluster, stopBenchCluster } from "./bench_cluster.ts";
import { measureBigLog } from "./big_log.ts";
import {
  baselinePlugin,
  beforePlugin,
  type HookName,
  ourPlugin,
  type PluginName,
  type PluginUnderTest,
  writeHookWrapper,
} from "./hooks.ts";
import { CPUACCT_CONTROLLER, MeasuredGroup } from "./measured_group.ts";
import { type Options, parseOptions, type Phase, USAGE } from "./options.ts";
import { checkTargets, renderReport, type ReportOptions, type Results } from "./report.ts";
import {
  type BenchContext,
  measureConcurrency,
  measureLogs,
  measureSteps,
  PLUGIN_CONFIGURATION,
} from "./scenarios.ts";
import { measureStartup } from "./startup.ts";

const RUNS_DIR = `${REPOSITORY_ROOT}/.state/bench`;

const log = (message: string) => console.error(`[bench] ${message}`);

/** The record of a benchmark run, so a later run can tell whether it is still alive. */
interface Owner extends ProcessRecord {
  /** The root cgroup's name under each controller. */
  cgroup: string;
}

/** Stops what benchmark runs that no longer exist left behind (a SIGKILLed run). */
async function reapStaleRuns(): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(RUNS_DIR));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = `${RUNS_DIR}/${entry.name}`;
    let owner: Owner;
    try {
      owner = JSON.parse(await Deno.readTextFile(`${dir}/owner.json`));
    } catch {
      continue;
    }
    if (await isAlive(owner)) continue;
    log(`cleaning up after an earlier run that did not finish (${dir})`);
    await new MeasuredGroup(owner.cgroup).remove();
    for (const cluster of await Array.fromAsync(Deno.readDir(dir))) {
      if (cluster.isDirectory && cluster.name.startsWith("cluster-")) {
        await stopBenchCluster(`${dir}/${cluster.name}`, log);
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
}

async function requireSystem(baseline: boolean): Promise<{ path: string; binaries: Binaries }> {
  if (Deno.uid() !== 0) {
    throw new Error("the benchmark runs hooks in cgroups of its own and needs root");
  }
  for (const controller of [CPUACCT_CONTROLLER, MEMORY_CONTROLLER]) {
    const mounted = await Deno.stat(`${controller}/cgroup.procs`).then(() => true, () => false);
    if (!mounted) throw new Error(`the cgroup v1 controller ${controller} is not mounted`);
  }
  const binaries = await locateBinaries();
  const kubectlDir = binaries.kubectl.slice(0, binaries.kubectl.lastIndexOf("/"));
  const path = `${kubectlDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
  if (baseline) {
    for (const tool of ["jq", "jsonnet"]) {
      const found = await new Deno.Command("/bin/sh", {
        args: ["-c", `command -v ${tool}`],
        env: { PATH: path },
        stdout: "null",
        stderr: "null",
      }).output();
      if (!found.success) {
        throw new Error(
          `the bash plugin needs ${tool}; install it (Debian: apt-get install ${tool})`,
        );
      }
    }
  }
  return { path, binaries };
}

async function commandOutput(command: string, args: string[], cwd?: string): Promise<string> {
  try {
    const result = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(result.stdout).trim();
  } catch {
    return "";
  }
}

/** A checkout of this plugin: its commit, and whether its program or hooks differ from it. */
interface CheckoutState {
  commit: string;
  changed: boolean;
}

async function checkoutState(dir: string): Promise<CheckoutState> {
  const status = await commandOutput("git", ["status", "--porcelain", "src", "hooks"], dir);
  return {
    commit: await commandOutput("git", ["rev-parse", "HEAD"], dir),
    changed: status.length > 0,
  };
}

async function describeRun(
  options: Options,
  hookPath: string,
  binaries: Binaries,
): Promise<Record<string, unknown> & { before: CheckoutState & { path: string } | null }> {
  const memory = Deno.systemMemoryInfo();
  return {
    command: `deno task bench ${Deno.args.join(" ")}`.trim(),
    mode: options.settings.mode,
    host: {
      cpus: navigator.hardwareConcurrency,
      memoryGiB: Math.round(memory.total / 1024 ** 3),
      kernel: Deno.osRelease(),
      loadAverageAtStart: Deno.loadavg(),
    },
    deno: Deno.version.deno,
    // The pinned builds carry their version in their cache path, not in `--version`.
    kubeApiserver: binaries.kubeApiserver,
    ours: { version: VERSION, ...await checkoutState(REPOSITORY_ROOT) },
    baseline: options.baseline
      ? {
        path: options.baseline,
        commit: await commandOutput("git", ["rev-parse", "HEAD"], options.baseline),
        kubectl: binaries.kubectl,
        jq: await commandOutput("/bin/sh", ["-c", `PATH=${hookPath} jq --version`]),
        jsonnet: await commandOutput("/bin/sh", ["-c", `PATH=${hookPath} jsonnet --version`]),
      }
      : null,
    // Run as ours is, by the same Deno, with its own compile task's flags and node_modules.
    before: options.before
      ? { path: options.before, ...await checkoutState(options.before) }
      : null,
    pluginConfiguration: PLUGIN_CONFIGURATION,
    settings: options.settings,
  };
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.fromJson) {
    const document = JSON.parse(await Deno.readTextFile(options.fromJson)) as {
      meta?: { before?: { commit?: string } | null };
      results: Results;
    };
    const markdown = renderReport(document.results, {
      beforeCommit: document.meta?.before?.commit,
    });
    console.log(markdown);
    if (options.markdown) await Deno.writeTextFile(options.markdown, markdown);
    return 0;
  }

  const stop = new AbortController();
  let stoppedBy: Deno.Signal | undefined;
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = (signal: Deno.Signal) => () => {
    if (!stoppedBy) log(`${signal}: stopping the hooks and the control planes`);
    stoppedBy ??= signal;
    stop.abort(new Error(`stopped by ${signal}`));
  };
  const listeners = signals.map((signal) => {
    const listener = onSignal(signal);
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });

  const workDir = `${RUNS_DIR}/run-${Deno.pid}`;
  const cgroup = `kbk-bench-${Deno.pid}`;
  const groups = new MeasuredGroup(cgroup);
  const clusters = new Set<string>();
  let status = 0;
  try {
    await reapStaleRuns();
    const { path: hookPath, binaries } = await requireSystem(options.baseline !== undefined);
    await Deno.mkdir(`${workDir}/home`, { recursive: true });
    const owner: Owner = { pid: Deno.pid, startTime: (await readStartTime(Deno.pid))!, cgroup };
    await Deno.writeTextFile(`${workDir}/owner.json`, JSON.stringify(owner));
    await groups.create();

    const plugins: PluginUnderTest[] = [await ourPlugin(workDir)];
    if (options.baseline) plugins.push(await baselinePlugin(options.baseline));
    else log("no --baseline given: the bash plugin is left out");
    const before = options.before ? await beforePlugin(options.before, workDir) : undefined;
    if (before) log(`--before ${before.dir}: the steps part runs it too, the others leave it out`);
    const wrappers = {} as Record<`${PluginName}/${HookName}`, string>;
    for (const plugin of before ? [...plugins, before] : plugins) {
      for (const hook of ["command", "pre-exit"] as const) {
        wrappers[`${plugin.name}/${hook}`] = await writeHookWrapper(workDir, plugin, hook);
      }
    }
    const context: BenchContext = {
      settings: options.settings,
      plugins,
      before,
      workDir,
      hookPath,
      home: `${workDir}/home`,
      wrappers,
      groups,
      log,
      signal: stop.signal,
    };
    const meta = await describeRun(options, hookPath, binaries);
    const startedAt = new Date().toISOString();
    const results: Results = {
      plugins: [...plugins, ...before ? [before] : []].map((plugin) => plugin.name),
    };
    const reportOptions: ReportOptions = { beforeCommit: meta.before?.commit };

    const phases: Record<Phase, (cluster: BenchCluster) => Promise<void>> = {
      steps: async (cluster) => void (results.steps = await measureSteps(context, cluster)),
      logs: async (cluster) => void (results.logs = await measureLogs(context, cluster)),
      concurrency: async (cluster) =>
        void (results.concurrency = await measureConcurrency(context, cluster)),
      startup: async (cluster) => void (results.startup = await measureStartup(context, cluster)),
      biglog: async (cluster) => void (results.biglog = await measureBigLog(context, cluster)),
    };
    for (const phase of options.phases) {
      stop.signal.throwIfAborted();
      const stateDir = `${workDir}/cluster-${phase}`;
      clusters.add(stateDir);
      log(`${phase}: starting a control plane of its own`);
      const cluster = await startBenchCluster(stateDir, (message) => log(`  ${message}`));
      try {
        await phases[phase](cluster);
      } finally {
        cluster.api.close();
        log(`${phase}: stopping its control plane`);
        await stopBenchCluster(stateDir, (message) => log(`  ${message}`));
        clusters.delete(stateDir);
      }
    }

    const markdown = renderReport(results, reportOptions);
    console.log(markdown);
    if (options.markdown) await Deno.writeTextFile(options.markdown, markdown);
    if (options.json) {
      const document = {
        meta: {
          ...meta,
          startedAt,
          finishedAt: new Date().toISOString(),
          loadAverageAtEnd: Deno.loadavg(),
        },
        targets: checkTargets(results),
        results,
      };
      await Deno.writeTextFile(options.json, JSON.stringify(document, null, 2) + "\n");
      log(`results written to ${options.json}`);
    }
  } catch (error) {
    if (stoppedBy) {
      status = stoppedBy === "SIGINT" ? 130 : stoppedBy === "SIGHUP" ? 129 : 143;
    } else {
      console.error(`bench: ${(error as Error).stack ?? error}`);
      status = 1;
    }
  } finally {
    stop.abort();
    await groups.remove().catch((error) => log(`could not remove the hooks' cgroups: ${error}`));
    for (const stateDir of clusters) {
      await stopBenchCluster(stateDir, log).catch((error) =>
        log(`could not stop the control plane in ${stateDir}: ${error}`)
      );
    }
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    listeners.forEach((remove) => remove());
  }
  return status;
}

if (import.meta.main) Deno.exit(await main());
