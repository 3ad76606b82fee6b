/**
 * Things integration scenarios need around a step: a git repository to check out, the
 * names the step's objects get, and what is left of them in the cluster.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type GitServer, serveGitRepository } from "../cluster/git_server.ts";
import { Informer } from "../cluster/informer.ts";
import type { KubeList, KubeObject, Pod } from "../cluster/kube_types.ts";
import { testCluster, waitForMatch } from "../cluster/testing.ts";

async function git(cwd: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("git", {
    args,
    cwd,
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

/** A git repository (branch main, one commit) holding `files`; returns its path. */
export async function gitRepository(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kbk-repo-" });
  await git(dir, "init", "-q", "-b", "main");
  for (const [path, content] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${path}`, content);
  }
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "fixture");
  return dir;
}

/**
 * A git repository holding `files` (see `gitRepository`), served read-only on a loopback
 * port until it is disposed of. A pod reaches it only in the host's network: run the step
 * with `HOST_NETWORK` (every other pod's network is connected to nothing).
 */
export async function servedRepository(files: Record<string, string>): Promise<GitServer> {
  const path = await gitRepository(files);
  const server = await serveGitRepository(path);
  return {
    ...server,
    [Symbol.asyncDispose]: async () => {
      await server[Symbol.asyncDispose]();
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** The job variables of a step that checks out `url`'s main branch, as the agent sets them. */
export function checkoutOf(url: string): Record<string, string> {
  return {
    BUILDKITE_REPO: url,
    BUILDKITE_COMMIT: "HEAD",
    BUILDKITE_BRANCH: "main",
    BUILDKITE_PIPELINE_PROVIDER: "git",
    BUILDKITE_COMMIT_RESOLVED: "true",
  };
}

/**
 * The `pod-spec-patch` that puts a step's pod in the host's network, where it reaches
 * services on 127.0.0.1 (a git server, the agent API stand-in, the API server).
 */
export { HOST_NETWORK } from "../cluster/git_server.ts";

/**
 * The name the plugin gives a step's Job and Secret for the step runner's pipeline
 * (`scenario`, build 1): computed here, independently of the product, from the job id.
 */
export function stepJobName(jobId: string): string {
  return `scenario-1-${createHash("sha256").update(jobId).digest("hex").slice(0, 10)}`;
}

/** The kinds of object a step leaves behind, by their collection path. */
const COLLECTIONS = {
  jobs: (namespace: string) => `/apis/batch/v1/namespaces/${namespace}/jobs`,
  pods: (namespace: string) => `/api/v1/namespaces/${namespace}/pods`,
  secrets: (namespace: string) => `/api/v1/namespaces/${namespace}/secrets`,
} as const;

/** The names of the Jobs, pods or Secrets in a namespace, sorted, as the API lists them now. */
export async function objectNames(
  namespace: string,
  kind: keyof typeof COLLECTIONS,
): Promise<string[]> {
  const list = await testCluster().api.get<KubeList<KubeObject>>(COLLECTIONS[kind](namespace));
  return list.items.map((item) => item.metadata.name ?? "").sort();
}

/**
 * Waits, by watching, until no Job, pod or Secret of `kind` matching `labelSelector` is
 * left in the namespace (pods of a deleted Job go a little later, by the garbage collector).
 */
export async function waitUntilNone(
  namespace: string,
  kind: keyof typeof COLLECTIONS,
  options: { labelSelector?: string; timeoutMs: number },
): Promise<void> {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(options.timeoutMs)]);
  let synced = false;
  let empty = false;
  let resolveNone!: () => void;
  const none = new Promise<void>((resolve) =>
    resolveNone = () => {
      empty = true;
      resolve();
    }
  );
  const informer: Informer<KubeObject> = new Informer<KubeObject>(testCluster().api, {
    path: COLLECTIONS[kind](namespace),
    labelSelector: options.labelSelector,
    signal,
    onChange: () => {
      if (synced && informer.store.size === 0) resolveNone();
    },
    onSync: () => {
      synced = true;
      if (informer.store.size === 0) resolveNone();
    },
  });
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
  await Promise.race([none, aborted]);
  stop.abort();
  await informer.done;
  if (!empty) {
    throw new Error(
      `timed out after ${options.timeoutMs} ms waiting for no ${kind} in ${namespace}` +
        `${options.labelSelector ? ` (${options.labelSelector})` : ""}; left: ` +
        [...informer.store.keys()].join(", "),
    );
  }
}

/**
 * When (performance.now()) an object of `collection` in `namespace`, selected by `labelSelector`,
 * first satisfies `predicate`: a timing that, unlike a step's whole duration, does not
 * include the program's start-up, which stretches on a loaded machine.
 */
export async function firstSeenAt<T extends KubeObject>(
  namespace: string,
  collection: string,
  labelSelector: string,
  predicate: (object: T) => boolean,
): Promise<number> {
  const path = collection === "jobs"
    ? `/apis/batch/v1/namespaces/${namespace}/jobs`
    : `/api/v1/namespaces/${namespace}/${collection}`;
  await waitForMatch<T>(testCluster().api, path, { labelSelector }, predicate, {
    timeoutMs: 60_000,
  });
  return performance.now();
}

/** Whether any container of a pod is waiting for one of `reasons`. */
export function waitingFor(pod: Pod, reasons: RegExp): boolean {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .some((status) => reasons.test(status.state?.waiting?.reason ?? ""));
}

/** A directory on the node's host, shared by a step's pods and the test (a `hostPath` volume). */
export interface HostDirectory extends AsyncDisposable {
  /** Its path on the host. */
  path: string;
  /** The pod spec's volume of it, named `name`. */
  volume(name: string): { name: string; hostPath: { path: string; type: "Directory" } };
}

/**
 * A fresh directory on the host, which the step's pods see through a `hostPath` volume (the
 * node runs on this machine): a pod leaves a mark there for the next, the test one for a pod.
 */
export async function hostDirectory(): Promise<HostDirectory> {
  const path = await Deno.makeTempDir({ prefix: "kbk-host-" });
  await Deno.chmod(path, 0o777);
  return {
    path,
    volume: (name) => ({ name, hostPath: { path, type: "Directory" } }),
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
