/**
 * Following a submitted Job to its verdict: informers on the Job, its pods and the Job's
 * Events feed one observation, judged on every change and when a grace period or timeout
 * runs out; meanwhile the pods' logs are streamed to the build log (`pod_logs.ts`).
 *
 * @module
 */
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import { EXIT, UserError } from "../exit_status.ts";
import type { Api, ApiError } from "../kube/client.ts";
import { paths } from "../kube/submit.ts";
import type { Output } from "../report.ts";
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
import { created, PodLogs } from "./pod_logs.ts";
import { Reachability } from "./reachability.ts";

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

function terminal(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
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
  const podLogs = new PodLogs({
    api,
    namespace,
    output,
    stepContainer: limits.stepContainer,
    log: options.debug,
  });

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
      if (!deleted && pod.metadata?.uid) {
        informers.push(podEventsInformer(podName, pod.metadata.uid));
      }
    }
    const statuses = [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ];
    for (const status of statuses) {
      clocks.observeStatus(podName, status, now);
    }
    if ((deleted || pod.metadata?.deletionTimestamp) && !firstSeen.has(`deleted:${podName}`)) {
      firstSeen.set(`deleted:${podName}`, now);
    }
    if (deleted && !terminal(pod)) deletedPods.add(podName);
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
        podLogs.observe(object, type === "DELETED");
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
  const logs = podLogs.follow(decidedOrStopped, logsStop.signal);

  try {
    const result = await Promise.race([verdict, aborted(stop.signal).then(() => undefined)]);
    if (!result) throw signal.reason ?? new Error("cancelled");
    const decidedAt = Date.now();
    const idleMs = result.stuck ? STUCK_LOG_DRAIN_IDLE_MS : LOG_DRAIN_IDLE_MS;
    if (
      !await drain(logs, () => Math.max(podLogs.lastProgress, decidedAt), idleMs, stop.signal) &&
      !result.stuck
    ) {
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
