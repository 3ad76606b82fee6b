/**
 * `deno task cluster up|down|status`: the local control plane from a shell.
 *
 * - `up` starts it (or says it is up already) and prints `export KUBECONFIG=…` on stdout,
 *   so `eval "$(deno task cluster up)"` points kubectl at it; progress goes to stderr.
 * - `status` says what is running.
 * - `down` stops everything it started.
 *
 * The state directory is `KBK_CLUSTER_DIR`, else `.state/cluster` in the repository.
 *
 * @module
 */

import { componentStatus, defaultStateDir, down, readState, up } from "./control_plane.ts";

const USAGE = "usage: deno task cluster up|down|status";

/** Runs the CLI and returns its exit status. */
export async function main(args: string[]): Promise<number> {
  const stateDir = defaultStateDir();
  const log = (message: string) => console.error(`[cluster] ${message}`);
  switch (args[0]) {
    case "up": {
      const { state, alreadyRunning } = await up({ stateDir, log });
      if (alreadyRunning) log(`already up (state in ${state.stateDir})`);
      console.log(`export KUBECONFIG=${state.kubeconfig}`);
      return 0;
    }
    case "down": {
      await down(stateDir, log);
      log(`down; nothing left running from ${stateDir}`);
      return 0;
    }
    case "status": {
      const state = await readState(stateDir);
      if (!state) {
        console.log(`not running (no cluster in ${stateDir})`);
        return 1;
      }
      const statuses = await componentStatus(state);
      for (const status of statuses) {
        console.log(
          `${status.name.padEnd(24)} pid ${status.pid} ${status.alive ? "running" : "STOPPED"}`,
        );
      }
      console.log(`API server ${state.server}; KUBECONFIG=${state.kubeconfig}`);
      return statuses.every((status) => status.alive) ? 0 : 1;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`[cluster] ${(error as Error).message}`);
    Deno.exit(1);
  }
}
