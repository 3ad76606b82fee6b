/**
 * `deno task test [deno test args…]`: starts ONE local control plane for the whole run in a
 * temporary directory, runs `deno test --allow-all --parallel tests/ bench/` (or the paths given)
 * with `KBK_TEST_KUBECONFIG` and `KBK_TEST_CLUSTER_DIR` (and `KUBECONFIG`) pointing at it,
 * stops the control plane however the tests end (SIGINT and SIGTERM too), and exits with
 * deno test's status. The user's own KUBECONFIG is never used.
 *
 * @module
 */

import { down, up } from "./cluster/control_plane.ts";

const SIGNAL_EXIT: Partial<Record<Deno.Signal, number>> = {
  SIGINT: 130,
  SIGKILL: 137,
  SIGTERM: 143,
};

const log = (message: string) => console.error(`[test cluster] ${message}`);

/** The `deno test` arguments: ours, the caller's, and `tests/ bench/` unless paths were given. */
export async function denoTestArgs(extra: string[]): Promise<string[]> {
  const ours = ["--allow-all", "--parallel"].filter((flag) =>
    !extra.includes(flag) && !(flag === "--allow-all" && extra.includes("-A"))
  );
  let hasPath = false;
  for (const arg of extra) {
    if (arg.startsWith("-")) continue;
    if (await Deno.stat(arg).then(() => true, () => false)) hasPath = true;
  }
  return ["test", ...ours, ...extra, ...(hasPath ? [] : ["tests/", "bench/"])];
}

// The run's control plane, and any private one a test started there and could not stop
// (its process was killed).
async function stopAll(stateDir: string): Promise<void> {
  const privateDirs: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${stateDir}/private`)) {
      if (entry.isDirectory) privateDirs.push(`${stateDir}/private/${entry.name}`);
    }
  } catch {
    // No test started a private control plane.
  }
  for (const dir of privateDirs) await down(dir, log);
  await down(stateDir, log);
  await Deno.remove(stateDir, { recursive: true });
}

async function main(): Promise<number> {
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
  try {
    const started = performance.now();
    const { state } = await up({ stateDir, log });
    log(`up in ${((performance.now() - started) / 1000).toFixed(1)} s (${stateDir})`);
    if (interrupted) return SIGNAL_EXIT[interrupted] ?? 1;
    child = new Deno.Command(Deno.execPath(), {
      args: await denoTestArgs(Deno.args),
      env: {
        KBK_TEST_KUBECONFIG: state.kubeconfig,
        KBK_TEST_CLUSTER_DIR: stateDir,
        KUBECONFIG: state.kubeconfig,
      },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    return status.signal ? SIGNAL_EXIT[status.signal] ?? 1 : status.code;
  } finally {
    await stop();
  }
}

if (import.meta.main) Deno.exit(await main());
