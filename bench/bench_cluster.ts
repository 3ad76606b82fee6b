/**
 * The benchmark's own control plane (tests/cluster/control_plane.ts, in a state directory of
 * the benchmark's), with what both plugins need in its `default` namespace, a watch that
 * notes when each step's Job appears, clearing Jobs between runs, and a TCP proxy in front
 * of the API server whose connections can be cut.
 *
 * @module
 */

import { ApiClient } from "../tests/cluster/api_client.ts";
import { down, up } from "../tests/cluster/control_plane.ts";
import { Informer } from "../tests/cluster/informer.ts";
import type { KubeList, KubeObject, WatchEvent } from "../tests/cluster/kube_types.ts";
import { readKubeconfig, renderKubeconfig } from "../tests/cluster/kubeconfig.ts";
import { startTcpProxy, type TcpProxy } from "../tests/cluster/tcp_proxy.ts";

/** The namespace steps run in: the kubeconfig sets none, so both plugins use `default`. */
export const NAMESPACE = "default";

/** The Secret both configurations name as `agent-token-secret-name`. */
export const AGENT_TOKEN_SECRET = "buildkite-agent";

/** The annotation both plugins put the Buildkite job id in. */
const JOB_ID_ANNOTATION = "buildkite/job-id";

/** A running control plane of the benchmark's. */
export interface BenchCluster {
  /** Its state directory. */
  stateDir: string;
  /** Its admin kubeconfig. */
  kubeconfigPath: string;
  /** An admin client (the harness's own requests; never inside a measured window). */
  api: ApiClient;
}

/** Starts a control plane in `stateDir` and creates the agent token Secret. */
export async function startBenchCluster(
  stateDir: string,
  log: (message: string) => void,
): Promise<BenchCluster> {
  const { state } = await up({ stateDir, log, ownerPid: Deno.pid });
  const api = new ApiClient(await readKubeconfig(state.kubeconfig));
  await api.post(`/api/v1/namespaces/${NAMESPACE}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: AGENT_TOKEN_SECRET },
    stringData: { "buildkite-agent-token": "benchmark-registration-token" },
  });
  return { stateDir, kubeconfigPath: state.kubeconfig, api };
}

/** Stops the control plane in `stateDir` (every process it started) and removes the directory. */
export async function stopBenchCluster(
  stateDir: string,
  log: (message: string) => void = () => {},
): Promise<void> {
  await down(stateDir, log);
  await Deno.remove(stateDir, { recursive: true }).catch(() => {});
}

/** Resolves once the collection at `path` is empty (watched, not polled). */
async function whenEmpty(api: ApiClient, path: string, timeoutMs: number): Promise<void> {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
  let resolveEmpty!: () => void;
  const empty = new Promise<void>((resolve) => resolveEmpty = resolve);
  const informer: Informer<KubeObject> = new Informer<KubeObject>(api, {
    path,
    signal,
    onChange: () => {
      if (informer.store.size === 0) resolveEmpty();
    },
    onSync: () => {
      if (informer.store.size === 0) resolveEmpty();
    },
  });
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
  await Promise.race([empty, aborted]);
  const left = [...informer.store.keys()];
  stop.abort();
  await informer.done;
  if (left.length > 0) {
    throw new Error(`${path} still holds ${left.join(", ")} after ${timeoutMs} ms`);
  }
}

/** Deletes every Job (and so its pods and per-step Secret) and waits until they are gone. */
export async function clearJobs(cluster: BenchCluster, timeoutMs = 120_000): Promise<void> {
  await cluster.api.request("DELETE", `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`, {
    body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background" },
    timeoutMs: 60_000,
  });
  await whenEmpty(cluster.api, `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`, timeoutMs);
  await whenEmpty(cluster.api, `/api/v1/namespaces/${NAMESPACE}/pods`, timeoutMs);
}

/**
 * A watch on the namespace's Jobs, established before a step starts, noting when each
 * step's Job was first seen (by the Buildkite job id both plugins annotate it with).
 */
export class JobCreations {
  readonly #seen = new Map<string, number>();
  readonly #waiters = new Map<string, () => void>();
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #reading: Promise<void>;

  private constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
    this.#reading = this.#read().catch(() => {});
  }

  /** Lists the Jobs, then watches from the list; resolves once the watch is established. */
  static async open(api: ApiClient): Promise<JobCreations> {
    const path = `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`;
    const list = await api.get<KubeList<KubeObject>>(path);
    const response = await api.stream(path, {
      watch: true,
      resourceVersion: list.metadata.resourceVersion,
    });
    return new JobCreations(response.body!);
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const { done, value } = await this.#reader.read();
      if (done) return;
      const receivedAt = Date.now();
      pending += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim()) this.#note(JSON.parse(line) as WatchEvent<KubeObject>, receivedAt);
      }
    }
  }

  #note(event: WatchEvent<KubeObject>, receivedAt: number): void {
    if (event.type !== "ADDED") return;
    const jobId = event.object.metadata?.annotations?.[JOB_ID_ANNOTATION];
    if (!jobId || this.#seen.has(jobId)) return;
    this.#seen.set(jobId, receivedAt);
    this.#waiters.get(jobId)?.();
  }

  /** When the Job of `jobId` was first seen (ms since the epoch); waits up to `timeoutMs`. */
  async createdAt(jobId: string, timeoutMs = 5_000): Promise<number | undefined> {
    if (!this.#seen.has(jobId)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.set(jobId, resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#waiters.delete(jobId);
    }
    return this.#seen.get(jobId);
  }

  /** Ends the watch (cancelling the reader closes the connection's stream). */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.#reading;
  }
}

/** The API server behind a TCP proxy, and a kubeconfig that goes through it. */
export interface ApiProxy {
  /** The proxy: `cutAll()` drops every connection through it. */
  proxy: TcpProxy;
  /** A kubeconfig whose server is the proxy. */
  kubeconfigPath: string;
  /** Stops the proxy. */
  close(): Promise<void>;
}

/** Puts a TCP proxy in front of the cluster's API server; its kubeconfig goes in `dir`. */
export async function startApiProxy(cluster: BenchCluster, dir: string): Promise<ApiProxy> {
  const connection = await readKubeconfig(cluster.kubeconfigPath);
  const target = new URL(connection.server);
  const proxy = startTcpProxy(`${target.hostname}:${target.port}`);
  const kubeconfigPath = `${dir}/proxy-${proxy.port}.kubeconfig`;
  await Deno.writeTextFile(
    kubeconfigPath,
    renderKubeconfig({ ...connection, server: `https://127.0.0.1:${proxy.port}` }),
    { mode: 0o600 },
  );
  return { proxy, kubeconfigPath, close: () => proxy.close() };
}
