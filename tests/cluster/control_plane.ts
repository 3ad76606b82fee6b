/**
 * The local control plane: etcd, kube-apiserver, kube-controller-manager and the node agent
 * (standing in for a kubelet and the scheduler) as host processes on free loopback ports,
 * with everything in one state directory:
 *
 * ```
 * state.json           what runs (pids, start times, command lines, ports)
 * kubeconfig           admin kubeconfig (token in group system:masters)
 * images.json          the node agent's image catalogue
 * node-agent.json      the node agent's configuration
 * pki/ etcd/ node/     certificates, etcd data, pods' volumes, overlays and logs
 * logs/                one log per component
 * ```
 *
 * Every process joins the cluster's memory cgroup (`/sys/fs/cgroup/memory/kbk-<hash>`), so
 * `down` — from any shell — kills every process group it recorded, then anything left in the
 * cgroup tree (containers and their children), and checks that nothing survived.
 *
 * @module
 */

import { ApiClient, type ApiConnection } from "./api_client.ts";
import { type Binaries, locateBinaries, REPOSITORY_ROOT } from "./binaries.ts";
import {
  cgroupProcesses,
  clusterCgroup,
  createCgroup,
  killCgroup,
  removeCgroup,
} from "./cgroups.ts";
import { freePorts } from "./free_ports.ts";
import { sleep, waitFor } from "./informer.ts";
import type { Node } from "./kube_types.ts";
import { readKubeconfig, renderKubeconfig } from "./kubeconfig.ts";
import { type ImageCatalogue, ImageCatalogueSchema } from "./node/image_catalogue.ts";
import type { NodeAgentConfig } from "./node/config.ts";
import { createClusterPki } from "./pki.ts";
import {
  isAlive,
  processesUsing,
  type ProcessRecord,
  readStartTime,
  spawnDaemon,
  stopProcessGroup,
} from "./processes.ts";

/** The name of the one node. */
export const NODE_NAME = "kbk-node";

/** The project's image, emulated by the node agent with the repository's entrypoint. */
export const PROJECT_IMAGE_REPOSITORY = "quay.io/muhlba91/buildkite-agent";

/** One started component. */
export interface ComponentRecord extends ProcessRecord {
  name: string;
  command: string;
  args: string[];
  log: string;
}

/** The content of `state.json`. */
export interface ClusterState {
  stateDir: string;
  cgroup: string;
  server: string;
  kubeconfig: string;
  nodeName: string;
  ports: { etcdClient: number; etcdPeer: number; apiServer: number; kubelet: number };
  components: ComponentRecord[];
}

/** Options of `up`. */
export interface UpOptions {
  /** Absolute or relative path of the state directory. */
  stateDir: string;
  /** Replaces parts of the default image catalogue (see `defaultImageCatalogue`). */
  images?: Partial<ImageCatalogue>;
  /** Extra node labels and taints. */
  nodeLabels?: Record<string, string>;
  nodeTaints?: NodeAgentConfig["taints"];
  /** Progress messages. */
  log?: (message: string) => void;
}

/** The result of `up`. */
export interface UpResult {
  state: ClusterState;
  /** True when the cluster was running already and nothing was started. */
  alreadyRunning: boolean;
}

const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "node-agent"] as const;

// How long each component gets between SIGTERM and SIGKILL. kube-apiserver's graceful
// shutdown waits up to a minute for its own loopback connections; nothing it would finish
// in that time matters to a throwaway cluster (etcd keeps the data).
const STOP_GRACE_MS: Record<string, number> = {
  "node-agent": 15_000,
  "kube-apiserver": 3_000,
  "kube-controller-manager": 10_000,
  etcd: 10_000,
};

const CONTROLLERS = [
  "job-controller",
  "ttl-after-finished-controller",
  "garbage-collector-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "namespace-controller",
  "pod-garbage-collector-controller",
  // Publishes kube-root-ca.crt, which every pod's default service-account volume projects.
  "root-ca-certificate-publisher-controller",
];

/** The state directory: `KBK_CLUSTER_DIR`, else `.state/cluster` in the repository. */
export function defaultStateDir(): string {
  return Deno.env.get("KBK_CLUSTER_DIR") || `${REPOSITORY_ROOT}/.state/cluster`;
}

/** The default image catalogue: the project's image with the repository's entrypoint. */
export function defaultImageCatalogue(binaries: Binaries): ImageCatalogue {
  return ImageCatalogueSchema.parse({
    images: [{
      repository: PROJECT_IMAGE_REPOSITORY,
      files: {
        "/entrypoint.sh": `${REPOSITORY_ROOT}/docker/entrypoint.sh`,
        "/usr/local/bin/buildkite-agent": binaries.buildkiteAgent,
      },
      entrypoint: ["/entrypoint.sh"],
      cmd: ["start"],
    }],
    presentOnNode: [`${PROJECT_IMAGE_REPOSITORY}:*`],
  });
}

/** Reads `state.json`, or undefined when there is none. */
export async function readState(stateDir: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${absolute(stateDir)}/state.json`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function writeState(state: ClusterState): Promise<void> {
  const path = `${state.stateDir}/state.json`;
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(state, null, 2));
  await Deno.rename(`${path}.tmp`, path);
}

/** Whether each recorded component is alive. */
export async function componentStatus(
  state: ClusterState,
): Promise<{ name: string; pid: number; alive: boolean }[]> {
  return await Promise.all(state.components.map(async (component) => ({
    name: component.name,
    pid: component.pid,
    alive: await isAlive(component),
  })));
}

/**
 * Starts the control plane and the node agent in `stateDir`, or reports that it runs already.
 * A stopped or half-started cluster in the directory is cleaned up and started afresh.
 */
export async function up(options: UpOptions): Promise<UpResult> {
  const log = options.log ?? (() => {});
  const stateDir = absolute(options.stateDir);
  const previous = await readState(stateDir);
  if (previous) {
    const statuses = await componentStatus(previous);
    if (statuses.length === COMPONENTS.length && statuses.every((status) => status.alive)) {
      return { state: previous, alreadyRunning: true };
    }
    log("a previous cluster in this directory is partly stopped; cleaning it up");
    await down(stateDir, log);
  }
  const started = performance.now();
  const binaries = await locateBinaries();
  for (const dir of ["etcd", "node", "logs", "pki"]) {
    await Deno.remove(`${stateDir}/${dir}`, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${stateDir}/${dir}`, { recursive: true });
  }
  const [etcdClient, etcdPeer, apiServer, kubelet] = freePorts(4);
  const state: ClusterState = {
    stateDir,
    cgroup: clusterCgroup(stateDir),
    server: `https://127.0.0.1:${apiServer}`,
    kubeconfig: `${stateDir}/kubeconfig`,
    nodeName: NODE_NAME,
    ports: { etcdClient, etcdPeer, apiServer, kubelet },
    components: [],
  };
  await writeState(state);
  try {
    await start(state, binaries, options, log);
  } catch (error) {
    log(`start failed; stopping what was started`);
    await down(stateDir, log);
    throw error;
  }
  log(`control plane ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { state, alreadyRunning: false };
}

async function start(
  state: ClusterState,
  binaries: Binaries,
  options: UpOptions,
  log: (message: string) => void,
): Promise<void> {
  const { stateDir, ports } = state;
  log("creating certificates and keys");
  const pki = await createClusterPki(`${stateDir}/pki`);
  const caCert = await Deno.readTextFile(pki.caCert);
  const connection: ApiConnection = {
    server: state.server,
    token: crypto.randomUUID().replaceAll("-", ""),
    caCert,
  };
  await Deno.writeTextFile(
    `${stateDir}/pki/tokens.csv`,
    `${connection.token},kbk-admin,kbk-admin,"system:masters"\n`,
    { mode: 0o600 },
  );
  await Deno.writeTextFile(state.kubeconfig, renderKubeconfig(connection), { mode: 0o600 });

  const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  log(`starting etcd on ${etcdUrl}`);
  const etcd = await launch(state, "etcd", binaries.etcd, [
    `--name=kbk`,
    `--data-dir=${stateDir}/etcd`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=kbk=${peerUrl}`,
    // A throwaway test database: durability is not worth an fsync per write.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ]);
  await waitUntil(etcd, 30_000, async () => {
    const response = await fetch(`${etcdUrl}/health`);
    return response.ok && (await response.json()).health === "true";
  });

  log(`starting kube-apiserver on ${state.server}`);
  const apiServer = await launch(state, "kube-apiserver", binaries.kubeApiserver, [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${ports.apiServer}`,
    `--cert-dir=${stateDir}/pki`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    "--endpoint-reconciler-type=none",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    `--token-auth-file=${stateDir}/pki/tokens.csv`,
    "--authorization-mode=RBAC",
    "--allow-privileged=true",
    "--disable-admission-plugins=TaintNodesByCondition",
    "--kubelet-preferred-address-types=InternalIP",
    "--profiling=false",
  ]);
  const client = new ApiClient(connection);
  try {
    await waitForReadyz(apiServer, client, 60_000);

    log("starting kube-controller-manager");
    await launch(state, "kube-controller-manager", binaries.kubeControllerManager, [
      `--kubeconfig=${state.kubeconfig}`,
      "--leader-elect=false",
      "--secure-port=0",
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--controllers=${CONTROLLERS.join(",")}`,
    ]);
    // The serviceaccount controller creating `default` shows the controllers are running.
    await waitFor(client, "/api/v1/namespaces/default/serviceaccounts", "default", Boolean, {
      timeoutMs: 60_000,
      description: "be created by the serviceaccount controller",
    });

    log("starting the node agent");
    const catalogue = { ...defaultImageCatalogue(binaries), ...options.images };
    await Deno.writeTextFile(`${stateDir}/images.json`, JSON.stringify(catalogue, null, 2));
    const agentConfig: NodeAgentConfig = {
      nodeName: state.nodeName,
      kubeconfig: state.kubeconfig,
      port: ports.kubelet,
      stateDir: `${stateDir}/node`,
      cgroup: `${state.cgroup}/pods`,
      imageCatalogue: `${stateDir}/images.json`,
      apiServerPort: ports.apiServer,
      labels: options.nodeLabels ?? {},
      taints: options.nodeTaints ?? [],
    };
    await Deno.writeTextFile(`${stateDir}/node-agent.json`, JSON.stringify(agentConfig, null, 2));
    const agent = await launch(state, "node-agent", Deno.execPath(), [
      "run",
      "--allow-all",
      "--quiet",
      `${REPOSITORY_ROOT}/tests/cluster/node_agent.ts`,
      `${stateDir}/node-agent.json`,
    ]);
    await waitForNodeReady(agent, client, state.nodeName);
  } finally {
    client.close();
  }
}

async function launch(
  state: ClusterState,
  name: string,
  command: string,
  args: string[],
): Promise<ComponentRecord> {
  const cgroup = `${state.cgroup}/control-plane/${name}`;
  await createCgroup(cgroup);
  const log = `${state.stateDir}/logs/${name}.log`;
  const record = await spawnDaemon(command, {
    args,
    logFile: log,
    cgroup,
    cwd: state.stateDir,
    // Tests and the CLI export KUBECONFIG; no component may reach another cluster through it.
    env: { KUBECONFIG: state.kubeconfig },
  });
  const component = { name, command, args, log, ...record };
  state.components = [...state.components.filter((entry) => entry.name !== name), component];
  await writeState(state);
  return component;
}

async function waitUntil(
  component: ComponentRecord,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A starting server has no way to announce readiness but answering; ask until it does.
  while (Date.now() < deadline) {
    if (!(await isAlive(component))) {
      throw new Error(`${component.name} exited during startup:\n${await logTail(component)}`);
    }
    if (await ready().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(
    `${component.name} not ready after ${timeoutMs} ms:\n${await logTail(component)}`,
  );
}

async function waitForReadyz(
  component: ComponentRecord,
  client: ApiClient,
  timeoutMs: number,
): Promise<void> {
  await waitUntil(component, timeoutMs, async () => {
    const response = await client.stream("/readyz", {}).catch(() => undefined);
    await response?.body?.cancel();
    return response?.ok === true;
  });
}

async function waitForNodeReady(
  agent: ComponentRecord,
  client: ApiClient,
  nodeName: string,
): Promise<void> {
  const exited = (async () => {
    while (await isAlive(agent)) await sleep(250);
    throw new Error(`node-agent exited during startup:\n${await logTail(agent)}`);
  })();
  const ready = waitFor<Node>(
    client,
    "/api/v1/nodes",
    nodeName,
    (node) =>
      node?.status?.conditions?.some((condition) =>
        condition.type === "Ready" && condition.status === "True"
      ) === true,
    { timeoutMs: 60_000, description: "be Ready" },
  );
  await Promise.race([ready, exited]);
}

async function logTail(component: ComponentRecord): Promise<string> {
  try {
    return (await Deno.readTextFile(component.log)).split("\n").slice(-30).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Stops everything the cluster in `stateDir` started: each component's process group
 * (node agent first, etcd last), then whatever is left in the cluster's cgroup tree.
 * Throws if any process survives. Logs and data stay for inspection.
 */
export async function down(
  stateDir: string,
  log: (message: string) => void = () => {},
): Promise<void> {
  const dir = absolute(stateDir);
  const state = await readState(dir);
  const cgroup = state?.cgroup ?? clusterCgroup(dir);
  for (const component of [...(state?.components ?? [])].reverse()) {
    if (await isAlive(component)) log(`stopping ${component.name} (pid ${component.pid})`);
    await stopProcessGroup(component, STOP_GRACE_MS[component.name] ?? 10_000);
  }
  const leftovers: number[] = [];
  for (const pid of await cgroupProcesses(cgroup)) {
    // A zombie (a stopped component not yet reaped by its parent) is not left running.
    if (pid !== Deno.pid && (await readStartTime(pid)) !== undefined) leftovers.push(pid);
  }
  for (const pid of leftovers) {
    const command = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    log(`killing leftover process ${pid}: ${command.replaceAll("\0", " ").trim()}`);
  }
  await killCgroup(cgroup);
  await removeCgroup(cgroup);
  const survivors = await processesUsing(dir);
  if (survivors.length > 0) {
    throw new Error(`processes still running from ${dir}: ${survivors.join(", ")}`);
  }
  await Deno.remove(`${dir}/state.json`).catch(() => {});
}

/** Restarts kube-apiserver in place (same port, same arguments) and waits until it is ready. */
export async function restartApiServer(
  stateDir: string,
  log: (message: string) => void = () => {},
): Promise<void> {
  const state = await readState(stateDir);
  const component = state?.components.find((entry) => entry.name === "kube-apiserver");
  if (!state || !component) throw new Error(`no cluster is running in ${absolute(stateDir)}`);
  log(`stopping kube-apiserver (pid ${component.pid})`);
  await stopProcessGroup(component, STOP_GRACE_MS["kube-apiserver"]);
  log("starting kube-apiserver again");
  const restarted = await launch(state, component.name, component.command, component.args);
  const client = new ApiClient(await readKubeconfig(state.kubeconfig));
  try {
    await waitForReadyz(restarted, client, 60_000);
  } finally {
    client.close();
  }
}

function absolute(path: string): string {
  const joined = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}
