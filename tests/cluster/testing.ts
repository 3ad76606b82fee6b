/**
 * How tests get a cluster. `deno task test` (tests/run.ts) starts ONE local control plane
 * for the whole run in a temporary directory and exports `KBK_TEST_KUBECONFIG` and
 * `KBK_TEST_CLUSTER_DIR`; tests never use the user's own KUBECONFIG.
 *
 * ```ts
 * import { freshNamespace, testCluster } from "../cluster/testing.ts";
 *
 * Deno.test("a job that exits 3 fails", async () => {
 *   const cluster = testCluster();
 *   await using namespace = await freshNamespace();
 *   const batch = cluster.kubeConfig.makeApiClient(k8s.BatchV1Api);
 *   // … create a Job in namespace.name, then waitFor() the state you expect.
 * });
 * ```
 *
 * - `testCluster()`: the shared cluster's kubeconfig path, a client-node `KubeConfig`, and
 *   a plain `ApiClient`.
 * - `waitFor(api, collectionPath, name, predicate, { timeoutMs })`: watch one object until
 *   it is in the state a test expects (never sleep and look); `waitForMatch`, `waitForPod`
 *   and `waitForEvent` do the same for the first object of a selection.
 * - `readPodLog(cluster, namespace, pod, query)`: `pods/log` through the API server.
 * - `freshNamespace()`: a new namespace `t-<random>` whose `default` ServiceAccount exists
 *   (so pods can be created at once); disposing it deletes the namespace.
 * - `startTcpProxy(cluster)`: the API server behind a loopback TCP proxy, with a kubeconfig
 *   that goes through it; `cutAll()` drops every connection, `cutEveryMs` does so
 *   periodically.
 * - `pushImage(name)`: pushes the busybox stand-in under another name to the node's
 *   registry, e.g. while a step waits for an image that was absent.
 * - `privateControlPlane()`: a cluster of the test's own (seconds to start), for tests that
 *   restart the API server (`restartApiServer()`) or stop the whole cluster. A machine runs
 *   one node at a time, so such tests live in `tests/own_cluster/`, which `deno task test`
 *   runs one by one after the shared cluster has stopped.
 *
 * @module
 */

import * as k8s from "@kubernetes/client-node";
import { fileURLToPath } from "node:url";
import { ApiClient } from "./api_client.ts";
import { down, readState, restartApiServer, up, type UpOptions } from "./control_plane.ts";
import { type BuiltImage, pushImage as pushToRegistry } from "./images.ts";
import { type Selector, waitFor, waitForMatch, type WaitOptions } from "./informer.ts";
import type { Event, Pod } from "./kube_types.ts";
import { parseKubeconfig, readKubeconfig, renderKubeconfig } from "./kubeconfig.ts";
import { startTcpProxy as startProxy, type TcpProxy, type TcpProxyOptions } from "./tcp_proxy.ts";

export { type Selector, waitFor, waitForMatch, type WaitOptions };

/** A cluster a test talks to. */
export interface Cluster {
  /** Path of an admin kubeconfig. */
  kubeconfigPath: string;
  /** The same, loaded for @kubernetes/client-node. */
  kubeConfig: k8s.KubeConfig;
  /** A plain REST client (see `api_client.ts`); shared, do not close it. */
  api: ApiClient;
  /** The control plane's state directory. */
  stateDir: string;
}

let shared: Cluster | undefined;

/** The run's shared cluster; throws when the tests were not started by `deno task test`. */
export function testCluster(): Cluster {
  if (shared) return shared;
  const kubeconfigPath = Deno.env.get("KBK_TEST_KUBECONFIG");
  const stateDir = Deno.env.get("KBK_TEST_CLUSTER_DIR");
  if (!kubeconfigPath || !stateDir) {
    throw new Error(
      "KBK_TEST_KUBECONFIG is not set: run the tests with `deno task test` (tests/run.ts), " +
        "which starts a local control plane for them",
    );
  }
  shared = clusterAt(kubeconfigPath, stateDir);
  return shared;
}

function clusterAt(kubeconfigPath: string, stateDir: string): Cluster {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const api = new ApiClient(parseKubeconfig(Deno.readTextFileSync(kubeconfigPath), kubeconfigPath));
  return { kubeconfigPath, kubeConfig, api, stateDir };
}

/** A namespace for one test. */
export interface Namespace extends AsyncDisposable {
  name: string;
  /** Deletes the namespace (and so everything in it); called by `await using`. */
  delete(): Promise<void>;
}

/**
 * Creates a namespace `t-<random>` in `cluster` (default: the shared one) and waits, by
 * watching, until its `default` ServiceAccount exists.
 */
export async function freshNamespace(cluster: Cluster = testCluster()): Promise<Namespace> {
  const name = `t-${crypto.randomUUID().slice(0, 8)}`;
  await cluster.api.post("/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels: { "kbk.test/namespace": "true" } },
  });
  await waitFor(cluster.api, `/api/v1/namespaces/${name}/serviceaccounts`, "default", Boolean, {
    timeoutMs: 30_000,
    description: "be created by the serviceaccount controller",
  });
  const remove = async () => {
    await cluster.api.delete(`/api/v1/namespaces/${name}`, {
      apiVersion: "v1",
      kind: "DeleteOptions",
      propagationPolicy: "Background",
    }).catch(() => {});
  };
  return { name, delete: remove, [Symbol.asyncDispose]: remove };
}

/** A proxy in front of a cluster's API server. */
export interface ApiProxy extends TcpProxy {
  /** `https://127.0.0.1:<proxy port>` */
  url: string;
  /** A kubeconfig file whose server is the proxy. */
  kubeconfigPath: string;
  /** The same, loaded for @kubernetes/client-node. */
  kubeConfig: k8s.KubeConfig;
}

/** Puts `cluster`'s API server behind a TCP proxy (see `tcp_proxy.ts`). */
export async function startTcpProxy(
  cluster: Cluster = testCluster(),
  options: TcpProxyOptions = {},
): Promise<ApiProxy> {
  const connection = await readKubeconfig(cluster.kubeconfigPath);
  const target = new URL(connection.server);
  const proxy = startProxy(`${target.hostname}:${target.port}`, options);
  const url = `https://127.0.0.1:${proxy.port}`;
  const kubeconfigPath = await Deno.makeTempFile({ prefix: "kbk-proxy-", suffix: ".kubeconfig" });
  await Deno.writeTextFile(kubeconfigPath, renderKubeconfig({ ...connection, server: url }));
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const closeProxy = proxy.close;
  const close = async () => {
    await closeProxy();
    await Deno.remove(kubeconfigPath).catch(() => {});
  };
  return Object.assign(proxy, {
    url,
    kubeconfigPath,
    kubeConfig,
    close,
    [Symbol.asyncDispose]: close,
  });
}

/**
 * A fresh state directory for a cluster of a test's own: under the run's directory, so that
 * tests/run.ts stops it even if the test process dies, with a short name, since the
 * kubelet's unix sockets under it may not pass 104 bytes.
 */
export async function privateStateDir(): Promise<string> {
  const parent = Deno.env.get("KBK_TEST_CLUSTER_DIR");
  const base = parent ? `${parent}/${PRIVATE_DIR}` : await Deno.makeTempDir({ prefix: "kbk-" });
  const dir = `${base}/${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** The folder of the run's directory that holds the tests' own clusters. */
export const PRIVATE_DIR = "p";

/** A control plane of one test's own. */
export interface PrivateControlPlane extends Cluster, AsyncDisposable {
  /** Restarts kube-apiserver in place (same port and arguments); resolves once it is ready. */
  restartApiServer(): Promise<void>;
  /** Stops everything and removes the state directory. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster for one test, in a temporary directory. Dispose of it (`await using`)
 * to stop it. Only for tests in `tests/own_cluster/`: the machine has room for one node.
 */
export async function privateControlPlane(
  options: Omit<UpOptions, "stateDir"> = {},
): Promise<PrivateControlPlane> {
  const stateDir = await privateStateDir();
  const { state } = await up({ ...options, stateDir, ownerPid: Deno.pid });
  const cluster = clusterAt(state.kubeconfig, stateDir);
  const stop = async () => {
    cluster.api.close();
    await down(stateDir);
    await Deno.remove(stateDir, { recursive: true });
  };
  return {
    ...cluster,
    restartApiServer: () => restartApiServer(stateDir),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Pushes the busybox stand-in (`alpine:3`) to the node's registry as `name` (any registry
 * host: the node pulls every name from its one registry).
 */
export async function pushImage(name: string, cluster: Cluster = testCluster()): Promise<void> {
  const state = await readState(cluster.stateDir);
  if (!state) throw new Error(`no cluster is running in ${cluster.stateDir}`);
  const images = JSON.parse(
    await Deno.readTextFile(`${cluster.stateDir}/images/images.json`),
  ) as Record<string, BuiltImage>;
  await pushToRegistry(state.registry, name, images.busybox);
}

/** What a run of `deno task cluster` printed and how it ended. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno task cluster ARGS…` (tests/cluster/cli.ts) with `KBK_CLUSTER_DIR=stateDir`. */
export async function runClusterCli(stateDir: string, ...args: string[]): Promise<CliResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      fileURLToPath(new URL("./cli.ts", import.meta.url)),
      ...args,
    ],
    env: { KBK_CLUSTER_DIR: stateDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Options of `readPodLog`: the `pods/log` query. */
export interface PodLogQuery {
  container?: string;
  follow?: boolean;
  timestamps?: boolean;
  sinceTime?: string;
  sinceSeconds?: number;
  tailLines?: number;
  limitBytes?: number;
  previous?: boolean;
}

/** Reads `pods/log` through the API server (to its end, when following). */
export async function readPodLog(
  cluster: Cluster,
  namespace: string,
  pod: string,
  query: PodLogQuery = {},
): Promise<string> {
  const response = await cluster.api.stream(
    `/api/v1/namespaces/${namespace}/pods/${pod}/log`,
    { ...query },
  );
  return await response.text();
}

/** Waits for the first pod matching `labelSelector` in `namespace` to satisfy `predicate`. */
export function waitForPod(
  cluster: Cluster,
  namespace: string,
  labelSelector: string,
  predicate: (pod: Pod) => boolean,
  options: WaitOptions,
): Promise<Pod> {
  return waitForMatch<Pod>(
    cluster.api,
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector },
    predicate,
    options,
  );
}

/** Waits for an event about `objectName` in `namespace` that satisfies `predicate`. */
export function waitForEvent(
  cluster: Cluster,
  namespace: string,
  objectName: string,
  predicate: (event: Event) => boolean,
  options: WaitOptions,
): Promise<Event> {
  return waitForMatch<Event>(
    cluster.api,
    `/api/v1/namespaces/${namespace}/events`,
    { fieldSelector: `involvedObject.name=${objectName}` },
    predicate,
    options,
  );
}
