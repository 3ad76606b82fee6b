/**
 * One pod's life on the node, as the kubelet's pod worker lives it: set up the sandbox and
 * volumes, pull images, run the init containers one after another and then the containers,
 * restart them as the restart policy says, enforce `activeDeadlineSeconds`, stop everything
 * gracefully when the pod is deleted, and report every transition through the pod's status.
 *
 * @module
 */

import type { ApiClient } from "../api_client.ts";
import { sleep } from "../informer.ts";
import type { Container, ContainerState, ContainerStatus, Pod, PodStatus } from "../kube_types.ts";
import type { NodeAgentConfig } from "./config.ts";
import { type ConfigSource, resolveContainerEnv } from "./container_env.ts";
import { ContainerLog, readContainerLog } from "./container_log.ts";
import { type RunningContainer, startContainer } from "./container_runtime.ts";
import { expandVariables } from "./env_expansion.ts";
import { type EventRecorder, podReference } from "./events.ts";
import { containerArgv, type ResolvedImage } from "./image_catalogue.ts";
import type { ImageManager } from "./image_pulls.ts";
import {
  containerShouldRestart,
  defaultWaitingReason,
  isTerminal,
  podConditions,
  type PodPhase,
  podPhase,
} from "./pod_status.ts";
import { parseQuantity } from "../../../src/config/quantity.ts";
import { StatusWriter } from "./status_writer.ts";
import { apiTime } from "./timestamps.ts";
import { containerMounts, setUpVolumes, VolumeError } from "./volumes.ts";

/** What every pod worker shares. */
export interface WorkerContext {
  client: ApiClient;
  config: NodeAgentConfig;
  images: ImageManager;
  events: EventRecorder;
  /** Secrets and ConfigMaps of a namespace (cached, falling back to the API). */
  configSource(namespace: string): ConfigSource;
  allocatable: Record<string, string>;
  log: (message: string) => void;
}

/** One container of the pod: its spec, its reported status, its logs per attempt. */
interface ContainerRecord {
  spec: Container;
  init: boolean;
  status: ContainerStatus;
  logs: ContainerLog[];
  running?: RunningContainer;
}

/** Why the pod is being stopped. */
type StopReason = "deleted" | "deadline" | "removed";

const NODE_IP = "127.0.0.1";
const DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline";
const RESTART_BACKOFF_MS = [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000];
const MAX_TERMINATION_MESSAGE = 4096;

/** Drives one pod; created when the pod is bound to this node. */
export class PodWorker {
  /** The pod's UID. */
  readonly uid: string;
  /** Resolves when the pod has run to its end (or was stopped) and its status is written. */
  readonly done: Promise<void>;
  #context: WorkerContext;
  #pod: Pod;
  #records: ContainerRecord[];
  #writer: StatusWriter;
  #startTime?: string;
  #sandbox: "none" | "ready" | "gone" = "none";
  /** The pod's final phase, once decided (a deadline decides it before containers stop). */
  #terminal?: { phase: PodPhase; reason?: string; message?: string };
  /** Everything has stopped and the final status is written. */
  #finished = false;
  #stopping?: { reason: StopReason; graceMs: number };
  #stop = new AbortController();
  #configWaiters: (() => void)[] = [];
  #deadlineTimer?: ReturnType<typeof setTimeout>;
  #lastConditions: PodStatus["conditions"] = [];
  #deleteRequested = false;

  /** Starts working on `pod`. */
  constructor(context: WorkerContext, pod: Pod) {
    this.#context = context;
    this.#pod = pod;
    this.uid = pod.metadata.uid ?? "";
    const waiting = defaultWaitingReason(pod.spec);
    const record = (spec: Container, init: boolean): ContainerRecord => ({
      spec,
      init,
      logs: [],
      status: {
        name: spec.name,
        state: { waiting: { reason: waiting } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: spec.image ?? "",
        imageID: "",
        started: false,
      },
    });
    this.#records = [
      ...(pod.spec.initContainers ?? []).map((spec) => record(spec, true)),
      ...pod.spec.containers.map((spec) => record(spec, false)),
    ];
    this.#writer = new StatusWriter(context.client, {
      namespace: pod.metadata.namespace ?? "",
      name: pod.metadata.name ?? "",
      uid: this.uid,
    }, context.log);
    this.done = this.#run().catch((error) => {
      context.log(`pod ${this.#name}: ${(error as Error).stack}`);
    });
  }

  /** The pod's namespace. */
  get namespace(): string | undefined {
    return this.#pod.metadata.namespace;
  }

  get #name(): string {
    return `${this.#pod.metadata.namespace}/${this.#pod.metadata.name}`;
  }

  get #podDir(): string {
    return `${this.#context.config.stateDir}/pods/${this.uid}`;
  }

  /** The latest state of the pod from the API. */
  update(pod: Pod): void {
    this.#pod = pod;
    this.#armDeadline();
    if (pod.metadata.deletionTimestamp) {
      const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000;
      this.#beginStop("deleted", graceMs);
      if (this.#finished) void this.#deleteFromApi();
    }
  }

  /** A Secret or ConfigMap of the pod's namespace changed: retry what waited for one. */
  configChanged(): void {
    const waiting = this.#configWaiters;
    this.#configWaiters = [];
    for (const wake of waiting) wake();
  }

  /** The pod object is gone from the API: stop at once and let `dispose` clean up. */
  removed(): void {
    this.#beginStop("removed", 0);
  }

  /** Removes the pod's files and logs once it is gone; waits for its containers first. */
  async dispose(): Promise<void> {
    await this.done;
    clearTimeout(this.#deadlineTimer);
    for (const record of this.#records) for (const log of record.logs) await log.close();
    this.#context.images.forget(this.uid);
    this.#context.events.forget(this.uid);
    await Deno.remove(this.#podDir, { recursive: true }).catch(() => {});
  }

  /**
   * What the kubelet's log endpoint needs: the container's status and its logs, one per
   * attempt, oldest first; undefined when the pod has no such container.
   */
  logSource(name: string): { status: ContainerStatus; logs: ContainerLog[] } | undefined {
    const record = this.#records.find((candidate) => candidate.spec.name === name);
    return record && { status: record.status, logs: record.logs };
  }

  async #run(): Promise<void> {
    const apiStatus = this.#pod.status ?? {};
    if (isTerminal(apiStatus.phase)) {
      this.#adoptTerminal(apiStatus);
      this.#finished = true;
      return this.#pod.metadata.deletionTimestamp ? await this.#deleteFromApi() : undefined;
    }
    if (this.#ranBefore(apiStatus)) {
      this.#context.log(`pod ${this.#name} ran under an earlier node agent; marking it failed`);
      this.#adoptStatuses(apiStatus);
      this.#startTime = apiStatus.startTime;
      this.#stopping = { reason: "removed", graceMs: 0 };
      await this.#finish();
      return;
    }
    this.#startTime = apiTime();
    this.#publish();
    // Arms the deadline, and stops at once a pod that was deleted before it got here.
    this.update(this.#pod);
    await this.#runPod();
    await this.#finish();
  }

  async #runPod(): Promise<void> {
    await Deno.mkdir(`${this.#podDir}/logs`, { recursive: true });
    this.#sandbox = "ready";
    this.#publish();
    const volumes = await this.#setUpVolumes();
    if (!volumes) return;
    for (const record of this.#records.filter((entry) => entry.init)) {
      const outcome = await this.#runToCompletion(record, volumes);
      if (outcome !== "succeeded") return;
    }
    await Promise.all(
      this.#records.filter((entry) => !entry.init).map((entry) =>
        this.#runToCompletion(entry, volumes)
      ),
    );
  }

  async #setUpVolumes(): Promise<Map<string, string> | undefined> {
    let delayMs = 1_000;
    while (!this.#stopping) {
      try {
        return await setUpVolumes(this.#pod, {
          podDir: this.#podDir,
          claimsDir: `${this.#context.config.stateDir}/claims`,
          addresses: { podIP: NODE_IP, hostIP: NODE_IP },
          allocatable: this.#context.allocatable,
        }, {
          ...this.#configSource(),
          serviceAccountToken: (audience, seconds) => this.#serviceAccountToken(audience, seconds),
        });
      } catch (error) {
        const message = error instanceof VolumeError
          ? error.message
          : `MountVolume.SetUp failed: ${(error as Error).message}`;
        this.#event(undefined, "Warning", "FailedMount", message);
        await this.#waitForConfigChange(delayMs);
        delayMs = Math.min(delayMs * 2, 60_000);
      }
    }
    return undefined;
  }

  async #serviceAccountToken(audience: string | undefined, seconds: number): Promise<string> {
    const { namespace, name, uid } = this.#pod.metadata;
    const account = this.#pod.spec.serviceAccountName ?? "default";
    const response = await this.#context.client.post<{ status: { token: string } }>(
      `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds: seconds,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name, uid },
        },
      },
    );
    return response.status.token;
  }

  #configSource(): ConfigSource {
    return this.#context.configSource(this.#pod.metadata.namespace ?? "");
  }

  /** Runs a container (again and again, as its restart policy says) until it is done. */
  async #runToCompletion(
    record: ContainerRecord,
    volumes: Map<string, string>,
  ): Promise<"succeeded" | "failed" | "stopped"> {
    for (let restarts = 0;; restarts++) {
      const exitCode = await this.#runOnce(record, volumes);
      if (exitCode === undefined || this.#stopping) return "stopped";
      if (!containerShouldRestart(record.spec, this.#pod.spec, exitCode)) {
        return exitCode === 0 ? "succeeded" : "failed";
      }
      const delayMs = RESTART_BACKOFF_MS[Math.min(restarts, RESTART_BACKOFF_MS.length - 1)];
      if (delayMs > 0) {
        const seconds = delayMs / 1000;
        const { name, namespace } = this.#pod.metadata;
        // While it waits, the attempt that just ended is the container's last state.
        record.status = {
          ...record.status,
          lastState: { terminated: record.status.state.terminated },
        };
        this.#setState(record, {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off ${seconds}s restarting failed container=${record.spec.name} ` +
              `pod=${name}_${namespace}(${this.uid})`,
          },
        });
        this.#event(
          record,
          "Warning",
          "BackOff",
          `Back-off restarting failed container ${record.spec.name} in pod ${name}_${namespace}(${this.uid})`,
        );
        await sleep(delayMs, this.#stop.signal);
        if (this.#stopping) return "stopped";
      }
    }
  }

  /** One attempt: image, configuration, start, exit. Undefined when stopped before it ran. */
  async #runOnce(
    record: ContainerRecord,
    volumes: Map<string, string>,
  ): Promise<number | undefined> {
    const image = await this.#ensureImage(record);
    if (!image) return undefined;
    const prepared = await this.#prepare(record, image, volumes);
    if (!prepared || this.#stopping) return undefined;
    const attempt = record.logs.length;
    const dir = `${this.#podDir}/containers/${record.spec.name}-${attempt}`;
    await Deno.mkdir(dir, { recursive: true });
    const terminationLog = `${dir}/termination-log`;
    await Deno.writeFile(terminationLog, new Uint8Array(), { mode: 0o666 });
    await Deno.chmod(terminationLog, 0o666);
    await Deno.mkdir(`${this.#podDir}/logs/${record.spec.name}`, { recursive: true });
    const log = await ContainerLog.create(
      `${this.#podDir}/logs/${record.spec.name}/${attempt}.log`,
    );
    record.logs.push(log);
    const containerId = `kbk://${crypto.randomUUID().replaceAll("-", "")}${
      crypto.randomUUID().replaceAll("-", "")
    }`;
    if (attempt > 0) {
      record.status = {
        ...record.status,
        restartCount: attempt,
        lastState: record.status.state.terminated
          ? { terminated: record.status.state.terminated }
          : record.status.lastState,
      };
    }
    this.#event(record, "Normal", "Created", "Container created");
    const limit = record.spec.resources?.limits?.memory;
    const started = await startContainer({
      dir,
      argv: prepared.argv,
      env: prepared.env,
      workingDir: record.spec.workingDir || image.config.workingDir || "/",
      hostname: this.#hostname(),
      mounts: [
        ...prepared.mounts,
        {
          source: terminationLog,
          target: record.spec.terminationMessagePath ?? "/dev/termination-log",
          readOnly: false,
        },
      ],
      cgroup: `${this.#context.config.cgroup}/${this.uid}/${record.spec.name}-${attempt}`,
      memoryLimitBytes: limit ? Math.floor(parseQuantity(limit)) : undefined,
      log,
    });
    const imageStatus = {
      image: image.reference.normalized,
      imageID: `${image.reference.repository}@sha256:${await sha256(image.reference.normalized)}`,
    };
    if (!started.started) {
      await log.close();
      this.#event(record, "Warning", "Failed", `Error: ${started.message}`);
      const at = apiTime(started.finishedAt);
      record.status = { ...record.status, ...imageStatus, containerID: containerId };
      this.#setState(record, {
        terminated: {
          exitCode: 128,
          reason: "StartError",
          message: started.message,
          startedAt: "1970-01-01T00:00:00Z",
          finishedAt: at,
          containerID: containerId,
        },
      });
      return 128;
    }
    const container = started.container;
    record.running = container;
    record.status = {
      ...record.status,
      ...imageStatus,
      containerID: containerId,
      started: true,
      ready: !record.init,
    };
    this.#setState(record, { running: { startedAt: apiTime(container.startedAt) } });
    this.#event(record, "Normal", "Started", "Container started");
    // Stopping may have begun while the container started.
    const graceMs = this.#stopGraceMs();
    if (graceMs !== undefined) void container.stop(graceMs);
    const exit = await container.exited;
    record.running = undefined;
    await log.close();
    const reason = exit.exitCode === 0 ? "Completed" : exit.oomKilled ? "OOMKilled" : "Error";
    const message = await this.#terminationMessage(record.spec, terminationLog, log, exit.exitCode);
    record.status = { ...record.status, started: false, ready: record.init && exit.exitCode === 0 };
    this.#setState(record, {
      terminated: {
        exitCode: exit.exitCode,
        reason,
        ...(message ? { message } : {}),
        startedAt: apiTime(container.startedAt),
        finishedAt: apiTime(exit.finishedAt),
        containerID: containerId,
      },
    });
    return exit.exitCode;
  }

  /** Makes sure the image is there; undefined when the pod was stopped while it was not. */
  async #ensureImage(record: ContainerRecord): Promise<ResolvedImage | undefined> {
    while (!this.#stopping) {
      const outcome = this.#context.images.ensure(this.uid, record.spec, Date.now());
      for (const event of outcome.events) {
        this.#event(record, event.type, event.reason, event.message);
      }
      if (outcome.kind === "ready") return outcome.image;
      this.#setState(record, { waiting: { reason: outcome.reason, message: outcome.message } });
      if (outcome.kind === "invalid" || outcome.kind === "neverPull") {
        // Nothing but a new pod can fix these; wait until this one is stopped.
        await new Promise((resolve) => this.#stop.signal.addEventListener("abort", resolve));
      } else if (outcome.kind === "pullFailed") {
        // The kubelet's next sync of the pod finds the image in back-off.
        await sleep(1_000, this.#stop.signal);
      } else {
        await sleep(Math.max(0, outcome.retryAt - Date.now()), this.#stop.signal);
      }
    }
    return undefined;
  }

  /** Resolves env, mounts and argv; waits (retrying on config changes) while it cannot. */
  async #prepare(record: ContainerRecord, image: ResolvedImage, volumes: Map<string, string>) {
    let delayMs = 1_000;
    while (!this.#stopping) {
      let reason = "CreateContainerConfigError";
      try {
        const resolved = await resolveContainerEnv(this.#pod, record.spec, this.#configSource(), {
          addresses: { podIP: NODE_IP, hostIP: NODE_IP },
          serviceEnv: this.#serviceEnv(),
          allocatable: this.#context.allocatable,
        });
        const env = new Map([["HOSTNAME", this.#hostname()], ...Object.entries(image.config.env)]);
        for (const [key, value] of resolved) env.set(key, value);
        // runc gives a container without HOME the home of its user (root here).
        if (!env.has("HOME")) env.set("HOME", "/root");
        const mounts = await containerMounts(record.spec, volumes, env);
        for (const [target, source] of Object.entries(image.config.files)) {
          mounts.push({ source, target, readOnly: true });
        }
        const expand = (values?: string[]) => values?.map((value) => expandVariables(value, env));
        const argv = containerArgv(
          { command: expand(record.spec.command), args: expand(record.spec.args) },
          image.config,
        );
        // The runtime, not the kubelet, refuses an empty command.
        reason = "CreateContainerError";
        if (argv.length === 0) throw new Error("no command specified");
        return { env, argv, mounts };
      } catch (error) {
        const message = (error as Error).message;
        this.#setState(record, { waiting: { reason, message } });
        this.#event(record, "Warning", "Failed", `Error: ${message}`);
        await this.#waitForConfigChange(delayMs);
        delayMs = Math.min(delayMs * 2, 60_000);
      }
    }
    return undefined;
  }

  #serviceEnv(): Map<string, string> {
    const port = String(this.#context.config.apiServerPort);
    return new Map([
      ["KUBERNETES_SERVICE_HOST", NODE_IP],
      ["KUBERNETES_SERVICE_PORT", port],
      ["KUBERNETES_SERVICE_PORT_HTTPS", port],
      ["KUBERNETES_PORT", `tcp://${NODE_IP}:${port}`],
      [`KUBERNETES_PORT_${port}_TCP`, `tcp://${NODE_IP}:${port}`],
      [`KUBERNETES_PORT_${port}_TCP_PROTO`, "tcp"],
      [`KUBERNETES_PORT_${port}_TCP_PORT`, port],
      [`KUBERNETES_PORT_${port}_TCP_ADDR`, NODE_IP],
    ]);
  }

  #hostname(): string {
    return (this.#pod.spec.hostname || this.#pod.metadata.name || "").slice(0, 63);
  }

  async #terminationMessage(
    spec: Container,
    path: string,
    log: ContainerLog,
    exitCode: number,
  ): Promise<string | undefined> {
    const file = await Deno.readFile(path).catch(() => new Uint8Array());
    if (file.length > 0) return new TextDecoder().decode(file.subarray(0, MAX_TERMINATION_MESSAGE));
    if (spec.terminationMessagePolicy !== "FallbackToLogsOnError" || exitCode === 0) {
      return undefined;
    }
    const tail = readContainerLog(log, {
      follow: false,
      timestamps: false,
      tailLines: 80,
      stream: "All",
    }, new AbortController().signal);
    const text = await new Response(tail).text();
    return text.length > 2048 ? text.slice(-2048) : text || undefined;
  }

  /** Waits for a Secret/ConfigMap change, at most `timeoutMs`, or until stopped. */
  async #waitForConfigChange(timeoutMs: number): Promise<void> {
    const changed = new Promise<void>((resolve) => this.#configWaiters.push(resolve));
    await Promise.race([changed, sleep(timeoutMs, this.#stop.signal)]);
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    const seconds = this.#pod.spec.activeDeadlineSeconds;
    if (seconds === undefined || !this.#startTime || this.#terminal) return;
    const remaining = Date.parse(this.#startTime) + seconds * 1000 - Date.now();
    this.#deadlineTimer = setTimeout(() => {
      if (this.#stopping) return;
      // Like the kubelet, the pod is Failed at once; its containers are stopped after.
      this.#terminal = { phase: "Failed", reason: "DeadlineExceeded", message: DEADLINE_MESSAGE };
      this.#event(undefined, "Normal", "DeadlineExceeded", DEADLINE_MESSAGE);
      this.#publish();
      this.#beginStop("deadline", (this.#pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
    }, Math.max(0, remaining));
  }

  #stopGraceMs(): number | undefined {
    return this.#stopping?.graceMs;
  }

  #beginStop(reason: StopReason, graceMs: number): void {
    if (this.#finished) return;
    const first = !this.#stopping;
    if (this.#stopping && this.#stopping.graceMs <= graceMs) return;
    // The first reason is the pod's story (a deadline, then a deletion: DeadlineExceeded).
    this.#stopping = { reason: this.#stopping?.reason ?? reason, graceMs };
    this.#stop.abort();
    this.configChanged();
    for (const record of this.#records) {
      if (!record.running) continue;
      if (first) this.#event(record, "Normal", "Killing", `Stopping container ${record.spec.name}`);
      void record.running.stop(graceMs);
    }
  }

  /** Settles the pod's final status and, if it is being deleted, deletes it. */
  async #finish(): Promise<void> {
    await Promise.all(this.#records.map((record) => record.running?.exited));
    if (this.#stopping) this.#markUnfinished();
    const init = this.#records.filter((record) => record.init).map((record) => record.status);
    const main = this.#records.filter((record) => !record.init).map((record) => record.status);
    let phase = podPhase(this.#pod.spec, init, main, true);
    if (!isTerminal(phase)) phase = "Failed";
    this.#terminal ??= { phase };
    clearTimeout(this.#deadlineTimer);
    if (this.#sandbox === "ready") this.#sandbox = "gone";
    this.#publish();
    await this.#writer.flush();
    this.#finished = true;
    if (this.#pod.metadata.deletionTimestamp) await this.#deleteFromApi();
  }

  // The kubelet's TerminatePod: once the pod has initialized, containers that did not finish
  // are reported terminated with an unknown status; so are the init containers up to the
  // last one that started (at least the first).
  #markUnfinished(): void {
    const unknown: ContainerState = {
      terminated: {
        exitCode: 137,
        reason: "ContainerStatusUnknown",
        message: "The container could not be located when the pod was terminated",
      },
    };
    const markUnknown = (record: ContainerRecord) => {
      if (record.status.state.terminated) return;
      record.status = { ...record.status, state: unknown, ready: false, started: false };
    };
    const inits = this.#records.filter((record) => record.init);
    const mains = this.#records.filter((record) => !record.init);
    const lastInit = inits.at(-1)?.status;
    const initialized = inits.length === 0 ||
      mains.some((record) => record.status.lastState.terminated || !record.status.state.waiting) ||
      lastInit?.state.terminated?.exitCode === 0 || lastInit?.lastState.terminated?.exitCode === 0;
    if (initialized) mains.forEach(markUnknown);
    const lastStarted = inits.findLastIndex((record) =>
      !record.status.state.waiting || record.status.lastState.terminated
    );
    inits.slice(0, Math.max(lastStarted, 0) + 1).forEach(markUnknown);
  }

  async #deleteFromApi(): Promise<void> {
    if (this.#deleteRequested) return;
    this.#deleteRequested = true;
    await this.#writer.flush();
    const { namespace, name } = this.#pod.metadata;
    try {
      await this.#context.client.delete(`/api/v1/namespaces/${namespace}/pods/${name}`, {
        apiVersion: "v1",
        kind: "DeleteOptions",
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code !== 404 && code !== 409) {
        this.#deleteRequested = false;
        this.#context.log(`deleting pod ${this.#name}: ${(error as Error).message}`);
      }
    }
  }

  #ranBefore(status: PodStatus): boolean {
    return [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]
      .some((container) => container.state.running || container.state.terminated);
  }

  #adoptTerminal(status: PodStatus): void {
    this.#terminal = {
      phase: status.phase as PodPhase,
      reason: status.reason,
      message: status.message,
    };
    this.#startTime = status.startTime;
    this.#adoptStatuses(status);
  }

  #adoptStatuses(status: PodStatus): void {
    for (const record of this.#records) {
      const list = record.init ? status.initContainerStatuses : status.containerStatuses;
      const reported = list?.find((entry) => entry.name === record.spec.name);
      if (reported) record.status = reported;
    }
  }

  #setState(record: ContainerRecord, state: ContainerState): void {
    record.status = { ...record.status, state };
    this.#publish();
  }

  #event(
    record: ContainerRecord | undefined,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void {
    const reference = podReference(
      this.#pod,
      record ? { name: record.spec.name, init: record.init } : undefined,
    );
    this.#context.events.record(reference, type, reason, message);
  }

  /** Computes the pod status from the workers' state and queues it to be written. */
  #publish(): void {
    const init = this.#records.filter((record) => record.init).map((record) => record.status);
    const main = this.#records.filter((record) => !record.init).map((record) => record.status);
    const phase = this.#terminal?.phase ?? podPhase(this.#pod.spec, init, main, false);
    const apiConditions = this.#pod.status?.conditions ?? [];
    const kubeletTypes = new Set(this.#lastConditions?.map((condition) => condition.type));
    const base: Pod = {
      ...this.#pod,
      status: {
        conditions: [
          ...apiConditions.filter((condition) => !kubeletTypes.has(condition.type)),
          ...(this.#lastConditions ?? []),
        ],
      },
    };
    const conditions = podConditions(base, {
      phase,
      initStatuses: init,
      statuses: main,
      sandboxReady: this.#sandbox === "ready",
      sandboxGone: this.#sandbox === "gone",
    }, apiTime());
    this.#lastConditions = conditions;
    const status: PodStatus = {
      phase,
      conditions,
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      ...(this.#sandbox === "none" ? {} : { podIP: NODE_IP, podIPs: [{ ip: NODE_IP }] }),
      startTime: this.#startTime,
      ...(this.#terminal?.reason ? { reason: this.#terminal.reason } : {}),
      ...(this.#terminal?.message ? { message: this.#terminal.message } : {}),
      ...(init.length ? { initContainerStatuses: init } : {}),
      containerStatuses: main,
      ...(this.#pod.metadata.generation === undefined
        ? {}
        : { observedGeneration: this.#pod.metadata.generation }),
    };
    this.#writer.set(status);
  }
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
