/**
 * A git repository served on 127.0.0.1 by `git daemon`, for the pods of the local node:
 * their own network is connected to nothing, so a step that checks out runs in the host's
 * network (`HOST_NETWORK`), where this server listens.
 *
 * @module
 */

import { freePorts } from "./free_ports.ts";

/** A served repository. */
export interface GitServer extends AsyncDisposable {
  /** `git://127.0.0.1:<port>/<name>`: what BUILDKITE_REPO should be. */
  url: string;
  /** The repository on this machine. */
  path: string;
}

/**
 * The `pod-spec-patch` that puts a step's pod in the host's network, where it reaches
 * services on 127.0.0.1 (a git server, the agent API stand-in, the API server).
 */
export const HOST_NETWORK = { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" };

/** Serves the repository at `path` read-only until the result is disposed of. */
export async function serveGitRepository(path: string): Promise<GitServer> {
  const parent = path.slice(0, path.lastIndexOf("/"));
  const [port] = freePorts(1);
  const daemon = new Deno.Command("git", {
    // deno-fmt-ignore
    args: [
      "daemon", "--listen=127.0.0.1", `--port=${port}`, `--base-path=${parent}`, "--export-all",
      "--reuseaddr", "--informative-errors", path,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(daemon.stderr).text();
  const url = `git://127.0.0.1:${port}/${path.slice(parent.length + 1)}`;
  // The daemon has no way to say it listens but answering; ask until it does.
  for (let attempt = 0;; attempt++) {
    const probe = await new Deno.Command("git", {
      args: ["ls-remote", url],
      stdout: "null",
      stderr: "null",
    }).output();
    if (probe.success) break;
    if (attempt >= 100) {
      daemon.kill("SIGKILL");
      await daemon.status;
      throw new Error(`git daemon on port ${port} does not answer: ${await stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    path,
    [Symbol.asyncDispose]: async () => {
      daemon.kill("SIGTERM");
      await daemon.status;
      await stderr;
    },
  };
}
