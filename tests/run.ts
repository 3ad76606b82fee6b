/**
 * `deno task test [deno test args…]`: starts ONE local cluster (a real node, see
 * `cluster/control_plane.ts`) for the whole run in a temporary directory, runs
 * `deno test --allow-all --parallel tests/ bench/` (or the paths given) with
 * `KBK_TEST_KUBECONFIG` and `KBK_TEST_CLUSTER_DIR` (and `KUBECONFIG`) pointing at it, and
 * stops the cluster however the tests end (SIGINT and SIGTERM too). Then the tests in
 * `tests/own_cluster/`, each of which starts and stops a cluster of its own, run one by one
 * (the machine has room for one node at a time). Exits with the first failing status. The
 * user's own KUBECONFIG is never used.
 *
 * @module
 */

import { down, up } from "./cluster/control_plane.ts";
import { PRIVATE_DIR } from "./cluster/testing.ts";

/** The folder of tests that need the machine's node to themselves. */
export const OWN_CLUSTER_TESTS = "tests/own_cluster/";

const SIGNAL_EXIT: Partial<Record<Deno.Signal, number>> = {
  SIGINT: 130,
  SIGKILL: 137,
  SIGTERM: 143,
};

const log = (message: string) => console.error(`[test cluster] ${message}`);

/** The two runs of `deno test`: on the shared cluster, then the own-cluster tests alone. */
export interface TestPlan {
  shared?: string[];
  ownCluster?: string[];
}

/**
 * The `deno test` arguments of each run: ours, the caller's flags, and the caller's paths
 * split between the runs (without paths: `tests/ bench/`, and `tests/own_cluster/`).
 */
export async function testPlan(extra: string[]): Promise<TestPlan> {
  const flags: string[] = [];
  const paths: string[] = [];
  for (const arg of extra) {
    const isPath = !arg.startsWith("-") && await Deno.stat(arg).then(() => true, () => false);
    (isPath ? paths : flags).push(arg);
  }
  const ownCluster = (path: string) => `${path.replace(/\/*$/, "")}/`.includes(OWN_CLUSTER_TESTS);
  const allow = extra.includes("-A") || flags.includes("--allow-all") ? [] : ["--allow-all"];
  const sharedPaths = paths.length
    ? paths.filter((path) => !ownCluster(path))
    : ["tests/", "bench/"];
  const ownPaths = paths.length ? paths.filter(ownCluster) : [OWN_CLUSTER_TESTS];
  const parallel = flags.includes("--parallel") ? [] : ["--parallel"];
  return {
    shared: sharedPaths.length
      ? [
        "test",
        ...allow,
        ...parallel,
        ...flags,
        ...(paths.length ? [] : [`--ignore=${OWN_CLUSTER_TESTS}`]),
        ...sharedPaths,
      ]
      : undefined,
    ownCluster: ownPaths.length
      ? ["test", ...allow, ...flags.filter((flag) => flag !== "--parallel"), ...ownPaths]
      : undefined,
  };
}

// The run's control plane, and any private one a test started there and could not stop
// (its process was killed).
async function stopAll(stateDir: string): Promise<void> {
  const privateDirs: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${stateDir}/${PRIVATE_DIR}`)) {
      if (entry.isDirectory) privateDirs.push(`${stateDir}/${PRIVATE_DIR}/${entry.name}`);
    }
  } catch {
    // No test started a private control plane.
  }
  for (const dir of privateDirs) await down(dir, log);
  await down(stateDir, log);
  await Deno.remove(stateDir, { recursive: true }).catch(() => {});
}

async function main(): Promise<number> {
  const plan = await testPlan(Deno.args);
  const stateDir = await Deno.makeTempDir({ prefix: "kbk-test-cluster-" });
  let stopped: Promise<void> | undefined;
  const stop = () => stopped ??= stopAll(stateDir);
  let child: Deno.ChildProcess | undefined;
  let interrupted: Deno.Signal | undefined;
  // Interrupted while starting: `up` finishes (or fails) first, then everything is stopped.
  const onSignal = (signal: Deno.Signal) => () => {
    interrupted ??= signal;
    try {
      child?.kill(signal);
    } catch {
      // deno test has exited already.
    }
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  const runDenoTest = async (args: string[], env: Record<string, string>) => {
    child = new Deno.Command(Deno.execPath(), {
      args,
      env,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    child = undefined;
    return status.signal ? SIGNAL_EXIT[status.signal] ?? 1 : status.code;
  };
  let status = 0;
  try {
    if (plan.shared) {
      const started = performance.now();
      const { state } = await up({ stateDir, log, ownerPid: Deno.pid });
      log(`up in ${((performance.now() - started) / 1000).toFixed(1)} s (${stateDir})`);
      if (interrupted) return SIGNAL_EXIT[interrupted] ?? 1;
      status = await runDenoTest(plan.shared, {
        KBK_TEST_KUBECONFIG: state.kubeconfig,
        KBK_TEST_CLUSTER_DIR: stateDir,
        KUBECONFIG: state.kubeconfig,
      });
      await stop();
      stopped = undefined;
    }
    if (plan.ownCluster && !interrupted) {
      log(`${OWN_CLUSTER_TESTS}: one cluster per test, one test at a time`);
      // Private clusters go under the run's directory, so a killed test's one is stopped too.
      const ownStatus = await runDenoTest(plan.ownCluster, { KBK_TEST_CLUSTER_DIR: stateDir });
      status ||= ownStatus;
    }
    return interrupted ? SIGNAL_EXIT[interrupted] ?? 1 : status;
  } finally {
    await stop();
  }
}

if (import.meta.main) Deno.exit(await main());
