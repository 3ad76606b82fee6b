/**
 * What the end-to-end scenarios share: a Buildkite job using this plugin, run by the real
 * `buildkite-agent start` against the agent API stand-in, on the test cluster, with its
 * step's pod in the host's network (where the stand-in and the git server listen on
 * 127.0.0.1), checking out a small repository.
 *
 * @module
 */
import { HOST_NETWORK, serveGitRepository } from "../cluster/git_server.ts";
import type { KubeList, KubeObject } from "../cluster/kube_types.ts";
import { testCluster } from "../cluster/testing.ts";
import {
  type PluginJob,
  type PluginJobOptions,
  sampleRepository,
  startPluginJob,
} from "../buildkite/plugin_job.ts";

/** A job and the repository it checks out; disposing of it stops both. */
export interface Scenario extends AsyncDisposable {
  job: PluginJob;
}

/** Starts a job of `options` in `namespace`; the plugin gets `namespace` and host network. */
export async function scenario(
  namespace: string,
  options: Omit<PluginJobOptions, "kubeconfig" | "repository"> & { repository?: string },
): Promise<Scenario> {
  const parent = await Deno.makeTempDir({ prefix: "kbk-e2e-repo-" });
  const repository = await serveGitRepository(await sampleRepository(parent));
  const job = await startPluginJob({
    kubeconfig: testCluster().kubeconfigPath,
    repository: options.repository ?? repository.url,
    ...options,
    plugin: { namespace, "pod-spec-patch": HOST_NETWORK, ...options.plugin },
  });
  return {
    job,
    [Symbol.asyncDispose]: async () => {
      await job[Symbol.asyncDispose]();
      await repository[Symbol.asyncDispose]();
      await Deno.remove(parent, { recursive: true });
    },
  };
}

/** The names of the Jobs or pods left in a namespace. */
export async function left(namespace: string, kind: "jobs" | "pods"): Promise<string[]> {
  const path = kind === "jobs"
    ? `/apis/batch/v1/namespaces/${namespace}/jobs`
    : `/api/v1/namespaces/${namespace}/pods`;
  const list = await testCluster().api.get<KubeList<KubeObject>>(path);
  return list.items.map((item) => item.metadata.name ?? "");
}

/** Asserts that `expected` appear in `log` in this order. */
export function inOrder(log: string, expected: string[]): void {
  let at = 0;
  for (const piece of expected) {
    const found = log.indexOf(piece, at);
    if (found === -1) {
      throw new Error(`${JSON.stringify(piece)} not found after offset ${at} in:\n${log}`);
    }
    at = found + piece.length;
  }
}
