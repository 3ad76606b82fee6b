/**
 * The local cluster: a real single-node Kubernetes on this machine, every part listening on
 * 127.0.0.1 only: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a registry
 * holding the node's images, containerd with runc and a CNI bridge connected to nothing, and
 * one kubelet (node `localhost`). Everything lives in one state directory:
 *
 * ```
 * state.json           what runs (pids, start times, command lines, ports)
 * kubeconfig           admin kubeconfig (token in group system:masters)
 * pki/ etcd/           certificates and tokens, etcd data
 * containerd/ kubelet/ the node's configuration, root and state
 * registry/ images/    the registry's storage and the images' layers
 * pod-logs/            the containers' log files, as the kubelet writes them
 * logs/                one log per component
 * ```
 *
 * Every component joins the cluster's memory cgroup (`/sys/fs/cgroup/memory/kbk-<hash>`), and
 * the kubelet puts pods in `kubepods`, so `down` — from any shell — kills every process group
 * it recorded, anything left in those cgroups, and takes away what the kubelet and containerd
 * left on the machine (`node_host.ts`). Only one local node runs on a machine at a time.
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
import { buildNodeImages, PAUSE_IMAGE, pushNodeImages } from "./images.ts";
import { sleep, waitFor } from "./informer.ts";
import type { Node } from "./kube_types.ts";
import { readKubeconfig, renderKubeconfig } from "./kubeconfig.ts";
import {
  cniConfig,
  containerdConfig,
  kubeletConfig,
  type NodeLayout,
  nodePaths,
  registryConfig,
  registryHostsToml,
  schedulerConfig,
  socketDir,
} from "./node_config.ts";
import {
  claimMachine,
  machineLeftovers,
  type MachineRecord,
  readMachineRecord,
  sweepMachine,
} from "./node_host.ts";
import { createClusterPki } from "./pki.ts";
import {
  isAlive,
  processesUsing,
  type ProcessRecord,
  readStartTime,
  spawnDaemon,
  stopProcessGroup,
} from "./processes.ts";

/** The name of the one node (the kubelet's `--hostname-override`: it must be loopback). */
export const NODE_NAME = "localhost";

/** One started component. */
export interface ComponentRecord extends ProcessRecord {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  log: string;
}

/** The content of `state.json`. */
export interface ClusterState {
  stateDir: string;
  cgroup: string;
  server: string;
  kubeconfig: string;
  nodeName: string;
  /** host:port of the registry every image is pulled from. */
  registry: string;
  ports: {
    etcdClient: number;
    etcdPeer: number;
    apiServer: number;
    kubelet: number;
    kubeletHealthz: number;
    registry: number;
  };
  components: ComponentRecord[];
}

/** Options of `up`. */
export interface UpOptions {
  /** Absolute or relative path of the state directory. */
  stateDir: string;
  /**
   * The process whose end leaves the cluster abandoned, so that the next `up` may stop it
   * (a test run's, the demo's); without one, the cluster stays until `down`.
   */
  ownerPid?: number;
  /** Progress messages. */
  log?: (message: string) => void;
}

/** The result of `up`. */
export interface UpResult {
  state: ClusterState;
  /** True when the cluster was running already and nothing was started. */
  alreadyRunning: boolean;
}

/** The components of the local cluster, in the order they start. */
export const COMPONENTS = [
  "registry",
  "containerd",
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
] as const;

// How long each component gets between SIGTERM and SIGKILL. kube-apiserver's graceful
// shutdown waits up to a minute for its own loopback connections; nothing it would finish
// in that time matters to a throwaway cluster (etcd keeps the data). The kubelet does not
// stop its pods when it stops; the pods' cgroups are swept after it.
const STOP_GRACE_MS: Record<string, number> = {
  kubelet: 5_000,
  "kube-scheduler": 5_000,
  "kube-apiserver": 3_000,
  "kube-controller-manager": 5_000,
  etcd: 10_000,
  containerd: 10_000,
  registry: 5_000,
};

const CONTROLLERS = [
  "job-controller",
  "ttl-after-finished-controller",
  "garbage-collector-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "namespace-controller",
  "pod-garbage-collector-controller",
  "disruption-controller",
  // Publishes kube-root-ca.crt, which every pod's default service-account volume projects.
  "root-ca-certificate-publisher-controller",
];

/** The state directory: `KBK_CLUSTER_DIR`, else `.state/cluster` in the repository. */
export function defaultStateDir(): string {
  return Deno.env.get("KBK_CLUSTER_DIR") || `${REPOSITORY_ROOT}/.state/cluster`;
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
 * Starts the cluster in `stateDir`, or reports that it runs already. A stopped or
 * half-started cluster in the directory, or what a killed earlier run left on the machine
 * (from any state directory: a cluster whose owner process is gone, or that is partly
 * stopped), is stopped and cleaned up first. Another cluster that runs and is not abandoned
 * is an error: the machine has room for one node.
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
  const machine = await takeOverMachine(stateDir, log);
  const started = performance.now();
  const binaries = await locateBinaries();
  // deno-fmt-ignore
  for (const dir of [
    "etcd", "logs", "pki", "containerd", "kubelet", "registry", "scheduler", "pod-logs",
  ]) {
    await Deno.remove(`${stateDir}/${dir}`, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${stateDir}/${dir}`, { recursive: true });
  }
  const [etcdClient, etcdPeer, apiServer, kubelet, kubeletHealthz, registry] = freePorts(6);
  const state: ClusterState = {
    stateDir,
    cgroup: clusterCgroup(stateDir),
    server: `https://127.0.0.1:${apiServer}`,
    kubeconfig: `${stateDir}/kubeconfig`,
    nodeName: NODE_NAME,
    registry: `127.0.0.1:${registry}`,
    ports: { etcdClient, etcdPeer, apiServer, kubelet, kubeletHealthz, registry },
    components: [],
  };
  await writeState(state);
  const ownerStart = options.ownerPid ? await readStartTime(options.ownerPid) : undefined;
  await claimMachine(
    stateDir,
    machine,
    options.ownerPid && ownerStart !== undefined
      ? { pid: options.ownerPid, startTime: ownerStart }
      : undefined,
  );
  try {
    await start(state, binaries, log);
  } catch (error) {
    log(`start failed; stopping what was started`);
    await down(stateDir, log);
    throw error;
  }
  log(`cluster ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { state, alreadyRunning: false };
}

/**
 * Stops the node of a killed earlier run, if its record is there, and sweeps what it left;
 * returns the earlier record (whose sysctls are the machine's own).
 */
async function takeOverMachine(
  stateDir: string,
  log: (message: string) => void,
): Promise<MachineRecord | undefined> {
  const record = await readMachineRecord();
  if (record && record.stateDir !== stateDir) {
    const other = await readState(record.stateDir);
    const alive = other ? await componentStatus(other) : [];
    const abandoned = record.owner !== undefined && !(await isAlive(record.owner));
    if (
      !abandoned && alive.length === COMPONENTS.length && alive.every((status) => status.alive)
    ) {
      throw new Error(
        `a local cluster runs already from ${record.stateDir}, and this machine has room for ` +
          `one node: stop it first (KBK_CLUSTER_DIR=${record.stateDir} deno task cluster down)`,
      );
    }
    log(`stopping and cleaning up what an earlier run (${record.stateDir}) left behind`);
    await stopComponents(other, clusterCgroup(record.stateDir), log);
  }
  await sweepMachine(record?.stateDir ?? stateDir, record, log);
  return record;
}

async function start(
  state: ClusterState,
  binaries: Binaries,
  log: (message: string) => void,
): Promise<void> {
  const { stateDir, ports } = state;
  log("creating certificates and keys");
  const pki = await createClusterPki(`${stateDir}/pki`);
  const caCert = await Deno.readTextFile(pki.caCert);
  const tokens = {
    admin: newToken(),
    kubelet: newToken(),
    scheduler: newToken(),
  };
  const connection: ApiConnection = { server: state.server, token: tokens.admin, caCert };
  await Deno.writeTextFile(
    `${stateDir}/pki/tokens.csv`,
    [
      `${tokens.admin},kbk-admin,kbk-admin,"system:masters"`,
      // The Node authorizer and NodeRestriction know a kubelet by this user and group.
      `${tokens.kubelet},system:node:${NODE_NAME},system:node:${NODE_NAME},"system:nodes"`,
      `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const paths = nodePaths(stateDir);
  await Deno.writeTextFile(state.kubeconfig, renderKubeconfig(connection), { mode: 0o600 });
  await Deno.writeTextFile(
    paths.kubeletKubeconfig,
    renderKubeconfig({ ...connection, token: tokens.kubelet }, "kbk-kubelet"),
    { mode: 0o600 },
  );
  await Deno.mkdir(`${stateDir}/scheduler`, { recursive: true });
  await Deno.writeTextFile(
    paths.schedulerKubeconfig,
    renderKubeconfig({ ...connection, token: tokens.scheduler }, "kbk-scheduler"),
    { mode: 0o600 },
  );
  const layout: NodeLayout = {
    stateDir,
    containerdDir: binaries.containerd,
    runc: binaries.runc,
    cniDir: binaries.cniPlugins,
    registry: state.registry,
    kubeletPort: ports.kubelet,
    kubeletHealthzPort: ports.kubeletHealthz,
    pauseImage: PAUSE_IMAGE,
  };

  // The images build while etcd and the API server start.
  log("building the node's images");
  const images = buildNodeImages(await freshDir(`${stateDir}/images`), binaries);
  images.catch(() => {});
  await startEtcd(state, binaries);
  log(`starting kube-apiserver on ${state.server}`);
  const apiServer = await launch(state, "kube-apiserver", binaries.kubeApiserver, [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
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
    "--authorization-mode=Node,RBAC",
    "--allow-privileged=true",
    "--enable-admission-plugins=NodeRestriction",
    // A new node is tainted not-ready until the node lifecycle controller, not run here,
    // takes the taint away.
    "--disable-admission-plugins=TaintNodesByCondition",
    `--kubelet-client-certificate=${pki.kubeletClientCert}`,
    `--kubelet-client-key=${pki.kubeletClientKey}`,
    // The node's only address is its name, localhost (a kubelet refuses a loopback IP).
    "--kubelet-preferred-address-types=Hostname,InternalIP",
    "--profiling=false",
  ]);
  const client = new ApiClient(connection);
  try {
    await waitForReadyz(apiServer, client, 60_000);
    log("starting kube-controller-manager and kube-scheduler");
    await launch(state, "kube-controller-manager", binaries.kubeControllerManager, [
      `--kubeconfig=${state.kubeconfig}`,
      "--leader-elect=false",
      "--secure-port=0",
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--controllers=${CONTROLLERS.join(",")}`,
    ]);
    await Deno.writeTextFile(paths.schedulerConfig, schedulerConfig(stateDir));
    await launch(state, "kube-scheduler", binaries.kubeScheduler, [
      `--config=${paths.schedulerConfig}`,
      "--secure-port=0",
    ]);

    await startRegistry(state, binaries, layout);
    log(`pushing the node's images to ${state.registry}`);
    const built = await images;
    await Deno.writeTextFile(`${stateDir}/images/images.json`, JSON.stringify(built, null, 2));
    await pushNodeImages(state.registry, built);
    await startContainerd(state, binaries, layout);
    log("starting the kubelet");
    await Deno.writeTextFile(paths.kubeletConfig, kubeletConfig(layout, pki.caCert));
    const kubelet = await launch(state, "kubelet", binaries.kubelet, [
      `--config=${paths.kubeletConfig}`,
      `--kubeconfig=${paths.kubeletKubeconfig}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--cert-dir=${stateDir}/kubelet/pki`,
      `--hostname-override=${NODE_NAME}`,
      "--v=1",
    ], { PATH: `${binaries.containerd}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` });
    await waitForNodeReady(kubelet, client, state.nodeName);
    // The serviceaccount controller creating `default` shows the controllers are running.
    await waitFor(client, "/api/v1/namespaces/default/serviceaccounts", "default", Boolean, {
      timeoutMs: 60_000,
      description: "be created by the serviceaccount controller",
    });
  } finally {
    client.close();
  }
}

function newToken(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

async function freshDir(path: string): Promise<string> {
  await Deno.remove(path, { recursive: true }).catch(() => {});
  await Deno.mkdir(path, { recursive: true });
  return path;
}

async function startEtcd(state: ClusterState, binaries: Binaries): Promise<void> {
  const etcdUrl = `http://127.0.0.1:${state.ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${state.ports.etcdPeer}`;
  const etcd = await launch(state, "etcd", binaries.etcd, [
    `--name=kbk`,
    `--data-dir=${state.stateDir}/etcd`,
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
}

async function startRegistry(
  state: ClusterState,
  binaries: Binaries,
  layout: NodeLayout,
): Promise<void> {
  const paths = nodePaths(state.stateDir);
  await Deno.mkdir(paths.registryStorage, { recursive: true });
  await Deno.writeTextFile(paths.registryConfig, registryConfig(layout));
  const registry = await launch(state, "registry", binaries.registry, [
    "serve",
    paths.registryConfig,
  ]);
  await waitUntil(registry, 30_000, async () => {
    const response = await fetch(`http://${state.registry}/v2/`);
    await response.body?.cancel();
    return response.ok;
  });
}

async function startContainerd(
  state: ClusterState,
  binaries: Binaries,
  layout: NodeLayout,
): Promise<void> {
  const paths = nodePaths(state.stateDir);
  await Deno.mkdir(`${paths.registryHosts}/_default`, { recursive: true });
  await Deno.writeTextFile(`${paths.registryHosts}/_default/hosts.toml`, registryHostsToml(layout));
  await Deno.mkdir(paths.cniConfDir, { recursive: true });
  await Deno.writeTextFile(`${paths.cniConfDir}/10-kbk.conflist`, cniConfig());
  await Deno.writeTextFile(paths.containerdConfig, containerdConfig(layout));
  await Deno.mkdir(socketDir(state.stateDir), { recursive: true, mode: 0o700 });
  const containerd = await launch(state, "containerd", `${binaries.containerd}/containerd`, [
    `--config=${paths.containerdConfig}`,
  ], { PATH: `${binaries.containerd}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` });
  await waitUntil(containerd, 30_000, async () => {
    const info = await Deno.stat(paths.containerdSocket).catch(() => undefined);
    return info?.isSocket === true;
  });
}

async function launch(
  state: ClusterState,
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
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
    env: { KUBECONFIG: state.kubeconfig, ...env },
  });
  const component = { name, command, args, env, log, ...record };
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
  kubelet: ComponentRecord,
  client: ApiClient,
  nodeName: string,
): Promise<void> {
  const exited = (async () => {
    while (await isAlive(kubelet)) await sleep(250);
    throw new Error(`kubelet exited during startup:\n${await logTail(kubelet)}`);
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
 * (kubelet first, the registry last), whatever is left in the cluster's and the pods'
 * cgroups, then what the node left on the machine (mounts, network devices, cgroups, fixed
 * paths, sysctls). Throws if anything survives. Logs and data stay for inspection.
 */
export async function down(
  stateDir: string,
  log: (message: string) => void = () => {},
): Promise<void> {
  const dir = absolute(stateDir);
  const state = await readState(dir);
  await stopComponents(state, state?.cgroup ?? clusterCgroup(dir), log);
  const machine = await readMachineRecord();
  if (!machine || machine.stateDir === dir) await sweepMachine(dir, machine, log);
  const survivors = await processesUsing(dir);
  if (survivors.length > 0) {
    throw new Error(`processes still running from ${dir}: ${survivors.join(", ")}`);
  }
  const left = machine?.stateDir === dir || !machine ? await machineLeftovers(dir) : [];
  if (left.length > 0) throw new Error(`the node left behind: ${left.join("; ")}`);
  await Deno.remove(`${dir}/state.json`).catch(() => {});
}

/** Stops the components of `state` in reverse order, then what is left in `cgroup`. */
async function stopComponents(
  state: ClusterState | undefined,
  cgroup: string,
  log: (message: string) => void,
): Promise<void> {
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
  const restarted = await launch(
    state,
    component.name,
    component.command,
    component.args,
    component.env,
  );
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
