/**
 * Following a submitted Job to its verdict: informers on the Job, its pods and the Job's
 * Events feed one observation, judged on every change and when a grace period or timeout
 * runs out; meanwhile each container's log is streamed, checkout first, in its own group.
 *
 * @module
 */
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import { EXIT, UserError } from "../exit_status.ts";
import type { Api, ApiError } from "../kube/client.ts";
import { paths } from "../kube/submit.ts";
import type { Output } from "../report.ts";
import { CHECKOUT_CONTAINER } from "../render/job.ts";
import {
  JOB_FAILED_KEY,
  jobOutcome,
  judge,
  type Limits,
  mountKey,
  type Observation,
  type Verdict,
} from "../verdict.ts";
import { GraceClocks } from "./clocks.ts";
import { type Contact, Informer, sleep } from "./informer.ts";
import { Reachability } from "./reachability.ts";
import { type ContainerProgress, followLog } from "./logs.ts";

/** A final verdict. */
export type FinalVerdict = Extract<Verdict, { done: true }>;

/** What to follow and where to report it. */
export interface FollowOptions {
  /** The API. */
  api: Api;
  /** The Job's namespace. */
  namespace: string;
  /** The Job as created (with its uid). */
  job: V1Job;
  /** The build log. */
  output: Output;
  /** The step's limits. */
  limits: Limits;
  /** When the Job was created (ms, local clock). */
  submittedAt: number;
  /** Stops following (cancellation). */
  signal: AbortSignal;
  /** `api-unreachable-timeout` in ms: following gives up after this long without the API; 0 for never. */
  unreachableBudgetMs: number;
  /** Reports reconnections and relists, for debugging. */
  debug?: (message: string) => void;
}

/**
 * Once the verdict is known, how long the logs may go without a new line before reading
 * them to the end is given up: however long a log is, it is read while it keeps coming.
 */
const LOG_DRAIN_IDLE_MS = 60_000;

/** The same for a stuck Job, which is deleted as soon as what its containers printed is read. */
const STUCK_LOG_DRAIN_IDLE_MS = 5_000;

/** Waits for `logs` to end while they make progress; false when they stalled or stopped. */
async function drain(
  logs: Promise<void>,
  lastProgress: () => number,
  idleMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const ended = logs.then(() => true);
  while (!signal.aborted) {
    const wait = lastProgress() + idleMs - Date.now();
    if (wait <= 0) return false;
    if (await Promise.race([ended, sleep(wait, signal).then(() => false)])) return true;
  }
  return false;
}

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

function terminal(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

function created(pod: V1Pod): number {
  return new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
}

/** Follows the Job until its verdict, with every log line of the containers that ran. */
export async function followJob(options: FollowOptions): Promise<FinalVerdict> {
  const { api, namespace, output, limits, signal } = options;
  const name = options.job.metadata!.name!;
  const uid = options.job.metadata!.uid!;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) stop.abort();

  const pods = new Map<string, V1Pod>();
  const deletedPods = new Set<string>();
  const firstSeen = new Map<string, number>();
  const clocks = new GraceClocks(firstSeen);
  const jobEvents: CoreV1Event[] = [];
  const podEvents: CoreV1Event[] = [];
  /** Every informer started, the pods' Events ones as their pods appear. */
  const informers: { done: Promise<void> }[] = [];
  let job: V1Job | undefined;
  let jobDeleted = false;
  const progress = new Map<string, { started: Deferred; terminated: Deferred }>();
  const newPod = { waiters: [] as (() => void)[] };

  let settle!: (verdict: FinalVerdict) => void;
  let fail!: (error: Error) => void;
  const verdict = new Promise<FinalVerdict>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const cannotFollow = (what: string) => (error: ApiError) => {
    decided = true;
    fail(
      new UserError(
        `cannot ${what}, so the step cannot be followed: ${error.message}`,
        EXIT.internal.code,
      ),
    );
  };
  let decided = false;
  let recheck: ReturnType<typeof setTimeout> | undefined;
  const reachability = new Reachability({
    budgetMs: options.unreachableBudgetMs,
    note: (message) => void output.note(message),
    exhausted: (error) => {
      if (decided) return;
      decided = true;
      fail(new UserError(`cannot follow the step: ${error.message}`, EXIT.internal.code));
    },
  });
  const onContact = (contact: Contact) => reachability.contact(contact);

  const tracker = (pod: string, container: string) => {
    const key = `${pod}/${container}`;
    let entry = progress.get(key);
    if (!entry) progress.set(key, entry = { started: new Deferred(), terminated: new Deferred() });
    return entry;
  };

  const evaluate = () => {
    if (decided) return;
    const observation: Observation = {
      job,
      jobDeleted,
      pods: [...pods.values()].sort((a, b) => created(a) - created(b)),
      deletedPods,
      jobEvents,
      podEvents,
      firstSeen,
      now: Date.now(),
      submittedAt: options.submittedAt,
    };
    const result = judge(observation, limits);
    clearTimeout(recheck);
    if (result.done) {
      decided = true;
      settle(result);
    } else if (result.recheckAt !== undefined) {
      recheck = setTimeout(evaluate, Math.max(0, result.recheckAt - Date.now()) + 5);
    }
  };

  const observePod = (pod: V1Pod, deleted: boolean) => {
    const podName = pod.metadata!.name!;
    const now = Date.now();
    if (!firstSeen.has(`pod:${podName}`)) {
      firstSeen.set(`pod:${podName}`, now);
      newPod.waiters.splice(0).forEach((wake) => wake());
      if (!deleted && pod.metadata?.uid) {
        informers.push(podEventsInformer(podName, pod.metadata.uid));
      }
    }
    const statuses = [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ];
    for (const status of statuses) {
      const entry = tracker(podName, status.name);
      if (status.state?.running || status.state?.terminated) entry.started.resolve();
      if (status.state?.terminated) entry.terminated.resolve();
      clocks.observeStatus(podName, status, now);
    }
    if ((deleted || pod.metadata?.deletionTimestamp) && !firstSeen.has(`deleted:${podName}`)) {
      firstSeen.set(`deleted:${podName}`, now);
    }
    if (deleted) {
      if (!terminal(pod)) deletedPods.add(podName);
      for (const [key, entry] of progress) {
        if (!key.startsWith(`${podName}/`)) continue;
        entry.started.resolve();
        entry.terminated.resolve();
      }
    }
    pods.set(podName, pod);
  };

  /** The Events of one pod: a volume that cannot be mounted is told only there. */
  const podEventsInformer = (podName: string, podUid: string) =>
    new Informer<CoreV1Event>(api, {
      path: paths.events(namespace),
      fieldSelector: `involvedObject.uid=${podUid}`,
      signal: stop.signal,
      log: options.debug,
      onContact,
      onRefused: () => {},
      onChange: ({ type, object }) => {
        if (type === "DELETED") return;
        const at = podEvents.findIndex((event) => event.metadata?.uid === object.metadata?.uid);
        if (at === -1) podEvents.push(object);
        else podEvents[at] = object;
        clocks.observeEvent(podName, object, Date.now());
        if (object.reason === "FailedMount" && !firstSeen.has(mountKey(podName))) {
          firstSeen.set(mountKey(podName), Date.now());
        }
        evaluate();
      },
    });

  informers.push(
    new Informer<V1Job>(api, {
      path: paths.jobs(namespace),
      fieldSelector: `metadata.name=${name}`,
      signal: stop.signal,
      log: options.debug,
      onContact,
      onRefused: cannotFollow(`watch Job ${namespace}/${name}`),
      onChange: ({ type, object }) => {
        if (object.metadata?.uid !== uid) return;
        if (type === "DELETED") jobDeleted = true;
        else job = object;
        if (jobOutcome(job) === "failed" && !firstSeen.has(JOB_FAILED_KEY)) {
          firstSeen.set(JOB_FAILED_KEY, Date.now());
        }
        evaluate();
      },
    }),
    new Informer<V1Pod>(api, {
      path: paths.pods(namespace),
      labelSelector: `controller-uid=${uid}`, // on every version (batch.kubernetes.io/: 1.27+)
      signal: stop.signal,
      log: options.debug,
      onContact,
      onRefused: cannotFollow(`watch the pods of Job ${namespace}/${name}`),
      onChange: ({ type, object }) => {
        observePod(object, type === "DELETED");
        evaluate();
      },
    }),
    new Informer<CoreV1Event>(api, {
      path: paths.events(namespace),
      fieldSelector: `involvedObject.uid=${uid}`,
      signal: stop.signal,
      log: options.debug,
      onContact,
      // Events only explain failures: without them the step still runs, less well told.
      onRefused: (error) => {
        output.note(
          `cannot watch the Job's Events, so failures are explained less well: ${error.message}`,
        );
      },
      onChange: ({ type, object }) => {
        if (type === "DELETED") return;
        const at = jobEvents.findIndex((event) => event.metadata?.uid === object.metadata?.uid);
        if (at === -1) jobEvents.push(object);
        else jobEvents[at] = object;
        evaluate();
      },
    }),
  );

  const decidedOrStopped = Promise.race([verdict.then(() => undefined), aborted(stop.signal)]);
  const logsStop = new AbortController();
  /** When a log last showed something (ms), for the drain after the verdict. */
  let lastProgress = Date.now();
  const logs = (async () => {
    const logged = new Set<string>();
    while (!logsStop.signal.aborted) {
      const pod = [...pods.values()].sort((a, b) => created(a) - created(b))
        .find((candidate) => !logged.has(candidate.metadata!.name!));
      if (!pod) {
        if (decided || stop.signal.aborted) return;
        await Promise.race([
          new Promise<void>((wake) => newPod.waiters.push(wake)),
          decidedOrStopped,
        ]);
        continue;
      }
      const podName = pod.metadata!.name!;
      logged.add(podName);
      if (logged.size > 1) await output.group("---", `pod ${podName} (retry ${logged.size - 1})`);
      const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
        .filter((container) =>
          pod.spec?.initContainers?.includes(container) || container.name === limits.stepContainer
        );
      for (const container of containers) {
        const entry = tracker(podName, container.name);
        await Promise.race([entry.started.promise, decidedOrStopped]);
        if (!entry.started.settled || logsStop.signal.aborted) break;
        const init = pod.spec?.initContainers?.includes(container);
        await output.group(
          init ? "---" : "+++",
          init
            ? container.name === CHECKOUT_CONTAINER
              ? "checkout"
              : `init container ${container.name}`
            : container.image ?? container.name,
        );
        const containerProgress: ContainerProgress = {
          started: entry.started.promise,
          terminated: () => entry.terminated.settled,
          whenTerminated: entry.terminated.promise,
        };
        const end = await followLog({
          api,
          namespace,
          pod: podName,
          container: container.name,
          progress: containerProgress,
          write: (text) => {
            lastProgress = Date.now();
            return output.write(text);
          },
          signal: logsStop.signal,
          log: options.debug,
        });
        if (end === "pod-gone") {
          await output.note(`the log of ${container.name} ends here: pod ${podName} is gone`);
        } else if (typeof end === "object") {
          await output.note(`cannot read the log of ${container.name}: ${end.refused}`);
        }
      }
    }
  })();

  try {
    const result = await Promise.race([verdict, aborted(stop.signal).then(() => undefined)]);
    if (!result) throw signal.reason ?? new Error("cancelled");
    lastProgress = Date.now();
    const idleMs = result.stuck ? STUCK_LOG_DRAIN_IDLE_MS : LOG_DRAIN_IDLE_MS;
    if (!await drain(logs, () => lastProgress, idleMs, stop.signal) && !result.stuck) {
      await output.note(
        `the logs could not be read to the end: nothing more arrived for ${idleMs / 1000} s`,
      );
    }
    return result;
  } finally {
    logsStop.abort();
    stop.abort();
    clearTimeout(recheck);
    reachability.stop();
    signal.removeEventListener("abort", onAbort);
    await Promise.allSettled([logs, ...informers.map((informer) => informer.done)]);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
