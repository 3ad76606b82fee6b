/**
 * The logs of a Job's pods in the build log. Every container of a pod is followed from the
 * moment it starts, all at once; the build log being one stream, they are written so:
 *
 * - the checkout, the other init containers and the step, each in its own group, live, in
 *   the order they run (Kubernetes runs them one after another): a container's log is
 *   opened as soon as it starts, and written once the one before it has ended;
 * - a native sidecar (an init container with `restartPolicy: Always`: a service mesh, a
 *   Vault agent, gcsfuse) runs beside them: its log is held back, its last
 *   `SIDECAR_LOG_BYTES` at most, and written in a collapsed group after the step's, as far
 *   as it got by then. A sidecar still running `SIDECAR_END_WAIT_MS` after the others
 *   ended is not waited for: the pod stops it once the step has ended.
 *
 * The pods go one after another, in the order they were created: a retried pod's log (with
 * `job-backoff-limit`) follows as soon as the pod before it has ended or is gone.
 *
 * @module
 */
import type { V1Container, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import type { Api } from "../kube/client.ts";
import { CHECKOUT_CONTAINER } from "../render/job.ts";
import type { Output } from "../report.ts";
import { sleep } from "./informer.ts";
import { followLog, type LogEnd } from "./logs.ts";

/**
 * How much of a sidecar's log is kept for the build log, at most: its last bytes, from the
 * start of a line. A mesh proxy may print for as long as the step runs.
 */
export const SIDECAR_LOG_BYTES = 1024 * 1024;

/** How long the sidecars may take to end, once the step has ended, before they are left. */
const SIDECAR_END_WAIT_MS = 2000;

/** How a container's log is shown. */
export interface ContainerLogPlan {
  /** The container. */
  name: string;
  /** Its group in the build log. */
  group: "---" | "+++";
  /** The group's title. */
  title: string;
}

/** The containers of a pod whose logs are shown, by how they are shown. */
export interface PodLogPlan {
  /** Shown live, in this order: the init containers, then the step container. */
  inTurn: ContainerLogPlan[];
  /** Native sidecars, shown collapsed after the others. */
  sidecars: ContainerLogPlan[];
}

function isSidecar(container: V1Container): boolean {
  return container.restartPolicy === "Always";
}

/** Which containers of a pod spec have their logs shown, and how. */
export function podLogPlan(spec: V1PodSpec | undefined, stepContainer: string): PodLogPlan {
  const init = spec?.initContainers ?? [];
  const step = (spec?.containers ?? []).filter((container) => container.name === stepContainer);
  return {
    inTurn: [
      ...init.filter((container) => !isSidecar(container)).map((container) => ({
        name: container.name,
        group: "---" as const,
        title: container.name === CHECKOUT_CONTAINER
          ? "checkout"
          : `init container ${container.name}`,
      })),
      ...step.map((container) => ({
        name: container.name,
        group: "+++" as const,
        title: container.image ?? container.name,
      })),
    ],
    sidecars: init.filter(isSidecar).map((container) => ({
      name: container.name,
      group: "---" as const,
      title: `sidecar ${container.name}`,
    })),
  };
}

/**
 * Where a container of a pod is: `waiting` to start, `running`, `ended` (its log is
 * complete), or `never` to start, since its pod has ended, is being deleted or is gone.
 */
export type ContainerStage = "waiting" | "running" | "ended" | "never";

/** Where a container is, by the latest state of its pod (`deleted`: the pod is gone). */
export function containerStage(
  pod: V1Pod,
  container: string,
  { deleted = false }: { deleted?: boolean } = {},
): ContainerStage {
  const status = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ].find((candidate) => candidate.name === container);
  const podOver = deleted || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
  if (status?.state?.terminated) return "ended";
  if (status?.state?.running) return podOver ? "ended" : "running";
  return podOver || pod.metadata?.deletionTimestamp ? "never" : "waiting";
}

/** When a pod was created (ms), by its `creationTimestamp`. */
export function created(pod: V1Pod): number {
  return new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
}

/** A promise settled from outside, which tells whether it has been. */
class Deferred {
  readonly promise: Promise<void>;
  settled = false;
  #resolve!: () => void;
  constructor() {
    this.promise = new Promise((resolve) => this.#resolve = resolve);
  }
  resolve(): void {
    this.settled = true;
    this.#resolve();
  }
}

/** What the pods' watch told of a container, as promises the log followers wait on. */
class ContainerProgressTracker {
  readonly started = new Deferred();
  readonly ended = new Deferred();
  readonly never = new Deferred();

  update(stage: ContainerStage): void {
    if (stage === "running" || stage === "ended") this.started.resolve();
    if (stage === "ended") this.ended.resolve();
    if (stage === "never" && !this.started.settled) this.never.resolve();
  }
}

/** A pod as the pods' watch last showed it, with its containers' progress. */
class WatchedPod {
  readonly containers = new Map<string, ContainerProgressTracker>();
  constructor(public pod: V1Pod, public deleted: boolean) {}

  container(name: string): ContainerProgressTracker {
    let tracker = this.containers.get(name);
    if (!tracker) {
      this.containers.set(name, tracker = new ContainerProgressTracker());
      tracker.update(containerStage(this.pod, name, { deleted: this.deleted }));
    }
    return tracker;
  }

  update(pod: V1Pod, deleted: boolean): void {
    this.pod = pod;
    this.deleted ||= deleted;
    for (const [name, tracker] of this.containers) {
      tracker.update(containerStage(pod, name, { deleted: this.deleted }));
    }
  }
}

/** A sidecar's log held back for the build log: its last `SIDECAR_LOG_BYTES`, whole lines. */
export class HeldLog {
  #chunks: Uint8Array[] = [];
  #length = 0;
  /** How many bytes of its start were left out. */
  leftOut = 0;

  /** Holds `bytes` (the write of a log follower), dropping the oldest beyond the bound. */
  readonly write = (bytes: Uint8Array): Promise<void> => {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
    while (this.#length > SIDECAR_LOG_BYTES) {
      const first = this.#chunks[0];
      const over = this.#length - SIDECAR_LOG_BYTES;
      if (over >= first.length) {
        this.#drop(first.length);
        this.#chunks.shift();
        continue;
      }
      // What is kept starts with a line: the rest of a line cut in two goes too.
      const newline = first.indexOf(0x0a, over);
      const cut = newline === -1 ? first.length : newline + 1;
      this.#drop(cut);
      if (cut === first.length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(cut);
    }
    return Promise.resolve();
  };

  #drop(count: number): void {
    this.#length -= count;
    this.leftOut += count;
  }

  /** The bytes held, ending with a newline when there are any. */
  bytes(): Uint8Array[] {
    const last = this.#chunks.at(-1);
    if (last && last[last.length - 1] !== 0x0a) return [...this.#chunks, Uint8Array.of(0x0a)];
    return this.#chunks;
  }
}

/** A container's log follower whose lines go to the build log once it is its `turn`. */
interface LiveFollower {
  container: ContainerLogPlan;
  turn: Deferred;
  end: Promise<LogEnd>;
}

/** A sidecar's log follower, whose lines are `held` for later. */
interface HeldFollower {
  container: ContainerLogPlan;
  held: HeldLog;
  end: Promise<LogEnd>;
}

/** Where the pods' logs come from and go. */
export interface PodLogsOptions {
  /** The API. */
  api: Api;
  /** The pods' namespace. */
  namespace: string;
  /** The build log. */
  output: Output;
  /** The name of the step's container. */
  stepContainer: string;
  /** Called when the step container prints: its command has run. */
  onStepOutput?: () => void;
  /** Reports reconnections, for debugging. */
  log?: (message: string) => void;
}

/**
 * The log followers of a Job's pods: told of every pod by the pods' watch (`observe`), they
 * write the pods' logs to the build log (`follow`).
 */
export class PodLogs {
  readonly #options: PodLogsOptions;
  readonly #pods = new Map<string, WatchedPod>();
  #newPod: (() => void)[] = [];
  #lastProgress = Date.now();

  /** Logs of the pods of a Job, read with `options.api`, written to `options.output`. */
  constructor(options: PodLogsOptions) {
    this.#options = options;
  }

  /** When the build log last got a line of a log (ms). */
  get lastProgress(): number {
    return this.#lastProgress;
  }

  /** Takes in the latest state of a pod (`deleted`: its watch said it is gone). */
  observe(pod: V1Pod, deleted: boolean): void {
    const name = pod.metadata!.name!;
    const watched = this.#pods.get(name);
    if (watched) {
      watched.update(pod, deleted);
      return;
    }
    this.#pods.set(name, new WatchedPod(pod, deleted));
    this.#newPod.splice(0).forEach((wake) => wake());
  }

  /**
   * Writes the logs of the pods, one pod after another, until `verdictKnown` resolves and
   * every pod's containers that had started have been read to the end; `signal` stops it.
   */
  async follow(verdictKnown: Promise<void>, signal: AbortSignal): Promise<void> {
    let decided = false;
    const verdict = verdictKnown.then(() => {
      decided = true;
    });
    const shown = new Set<string>();
    while (!signal.aborted) {
      const next = [...this.#pods.values()].sort((a, b) => created(a.pod) - created(b.pod))
        .find((watched) => !shown.has(watched.pod.metadata!.name!));
      if (!next) {
        if (decided) return;
        await Promise.race([new Promise<void>((wake) => this.#newPod.push(wake)), verdict]);
        continue;
      }
      shown.add(next.pod.metadata!.name!);
      if (shown.size > 1) {
        await this.#group("---", `pod ${next.pod.metadata!.name} (retry ${shown.size - 1})`);
      }
      await this.#followPod(next, verdict, signal);
    }
  }

  /**
   * One pod's logs: every container followed from when it starts; those in turn written
   * live, one after another; then the sidecars', collapsed.
   */
  async #followPod(
    watched: WatchedPod,
    verdict: Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const plan = podLogPlan(watched.pod.spec, this.#options.stepContainer);
    const podDone = new AbortController();
    const stop = AbortSignal.any([signal, podDone.signal]);
    const sidecars = plan.sidecars.map((container) => this.#heldFollower(watched, container, stop));
    const inTurn = plan.inTurn.map((container) => this.#liveFollower(watched, container, stop));
    try {
      await this.#showInTurn(watched, inTurn, verdict, signal);
      if (signal.aborted) return;
      const sidecarsEnded = Promise.all(sidecars.map(({ end }) => end));
      await Promise.race([sidecarsEnded, sleep(SIDECAR_END_WAIT_MS, signal)]);
      podDone.abort();
      await this.#showSidecars(watched, sidecars, await sidecarsEnded, signal);
    } finally {
      podDone.abort();
      await Promise.allSettled([...inTurn, ...sidecars].map(({ end }) => end));
    }
  }

  /** A follower whose lines wait for its `turn`, then go to the build log as they come. */
  #liveFollower(
    watched: WatchedPod,
    container: ContainerLogPlan,
    stop: AbortSignal,
  ): LiveFollower {
    const turn = new Deferred();
    const step = container.name === this.#options.stepContainer;
    const write = async (bytes: Uint8Array) => {
      if (step && bytes.length > 0) this.#options.onStepOutput?.();
      // Only what comes before its turn waits: one listener for each such write, no more.
      if (!turn.settled) await Promise.race([turn.promise, aborted(stop)]);
      if (!stop.aborted) await this.#write(bytes);
    };
    return { container, turn, end: this.#followContainer(watched, container, write, stop) };
  }

  /** A follower whose lines are held back, for a sidecar. */
  #heldFollower(
    watched: WatchedPod,
    container: ContainerLogPlan,
    stop: AbortSignal,
  ): HeldFollower {
    const held = new HeldLog();
    return { container, held, end: this.#followContainer(watched, container, held.write, stop) };
  }

  /**
   * Gives each container its turn, in order, once it has started, and waits for its log's
   * end; one that cannot start any more is passed over; once the verdict is known, one
   * that has not started ends the pod's turns.
   */
  async #showInTurn(
    watched: WatchedPod,
    inTurn: LiveFollower[],
    verdict: Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const stopped = aborted(signal);
    for (const { container, turn, end } of inTurn) {
      const progress = watched.container(container.name);
      await Promise.race([progress.started.promise, progress.never.promise, verdict, stopped]);
      if (signal.aborted) return;
      if (!progress.started.settled) {
        if (progress.never.settled) continue;
        return;
      }
      await this.#group(container.group, container.title);
      turn.resolve();
      await this.#noteEnd(container.name, watched, await end);
    }
  }

  /** Writes what the sidecars that started printed, each in a collapsed group. */
  async #showSidecars(
    watched: WatchedPod,
    sidecars: HeldFollower[],
    ends: LogEnd[],
    signal: AbortSignal,
  ): Promise<void> {
    for (const [index, { container, held }] of sidecars.entries()) {
      if (signal.aborted) return;
      const progress = watched.container(container.name);
      if (!progress.started.settled) continue;
      await this.#group(container.group, container.title);
      if (held.leftOut > 0) {
        await this.#note(`the first ${held.leftOut} bytes of ${container.name}'s log are left out`);
      }
      for (const bytes of held.bytes()) await this.#write(bytes);
      if (ends[index] !== "aborted") await this.#noteEnd(container.name, watched, ends[index]);
      else if (!progress.ended.settled) {
        await this.#note(`${container.name} was still running: its log is shown up to here`);
      } else {
        await this.#note(`${container.name}'s log is shown as far as it was read in time`);
      }
    }
  }

  /** Follows one container's log from when it starts, into `write`. */
  #followContainer(
    watched: WatchedPod,
    container: ContainerLogPlan,
    write: (bytes: Uint8Array) => Promise<void>,
    signal: AbortSignal,
  ): Promise<LogEnd> {
    const progress = watched.container(container.name);
    return followLog({
      api: this.#options.api,
      namespace: this.#options.namespace,
      pod: watched.pod.metadata!.name!,
      container: container.name,
      progress: {
        started: progress.started.promise,
        terminated: () => progress.ended.settled,
        whenTerminated: progress.ended.promise,
      },
      write,
      signal,
      log: this.#options.log,
    });
  }

  async #noteEnd(container: string, watched: WatchedPod, end: LogEnd): Promise<void> {
    if (end === "pod-gone") {
      await this.#note(
        `the log of ${container} ends here: pod ${watched.pod.metadata!.name} is gone`,
      );
    } else if (typeof end === "object") {
      await this.#note(`cannot read the log of ${container}: ${end.refused}`);
    }
  }

  #group(kind: ContainerLogPlan["group"], title: string): Promise<void> {
    this.#lastProgress = Date.now();
    return this.#options.output.group(kind, title);
  }

  #note(message: string): Promise<void> {
    this.#lastProgress = Date.now();
    return this.#options.output.note(message);
  }

  #write(data: string | Uint8Array): Promise<void> {
    this.#lastProgress = Date.now();
    return this.#options.output.write(data);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
