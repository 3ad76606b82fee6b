/**
 * Following a submitted Job to its verdict: informers on the Job, its pods, the Job's Events
 * and each pod's Events feed one observation (`observer.ts`), judged on every change and
 * when a grace period or timeout runs out; an API out of reach too long ends following
 * (`reachability.ts`); meanwhile the pods' logs are streamed to the build log (`pod_logs.ts`)
 * and read to their end once the verdict is known.
 *
 * @module
 */
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import { EXIT, UserError } from "../exit_status.ts";
import type { Api, ApiError } from "../kube/client.ts";
import { paths } from "../kube/submit.ts";
import type { Output } from "../report.ts";
import type { Limits } from "../verdict.ts";
import { type Contact, Informer, sleep } from "./informer.ts";
import { Decision, type FinalVerdict, Observer } from "./observer.ts";
import { PodLogs } from "./pod_logs.ts";
import { Reachability } from "./reachability.ts";

export type { FinalVerdict } from "./observer.ts";

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

/** Where the informers of one follow report. */
interface Listeners {
  observer: Observer;
  decision: Decision;
  podLogs: PodLogs;
  onContact: (contact: Contact) => void;
  /** Starts the informer of a new pod's Events. */
  watchPodEvents: (pod: V1Pod) => void;
}

/** The informers on the Job, its pods and the Job's Events, each change judged at once. */
function jobInformers(
  options: FollowOptions,
  stop: AbortSignal,
  to: Listeners,
): { done: Promise<void> }[] {
  const { api, namespace, output } = options;
  const { observer, decision, podLogs, onContact } = to;
  const { name, uid } = options.job.metadata as { name: string; uid: string };
  const cannotFollow = (what: string) => (error: ApiError) =>
    decision.fail(
      new UserError(
        `cannot ${what}, so the step cannot be followed: ${error.message}`,
        EXIT.internal.code,
      ),
    );
  const common = { signal: stop, log: options.debug, onContact };
  return [
    new Informer<V1Job>(api, {
      ...common,
      path: paths.jobs(namespace),
      fieldSelector: `metadata.name=${name}`,
      onRefused: cannotFollow(`watch Job ${namespace}/${name}`),
      onChange: (change) => {
        observer.jobChanged(change);
        decision.evaluate();
      },
    }),
    new Informer<V1Pod>(api, {
      ...common,
      path: paths.pods(namespace),
      labelSelector: `controller-uid=${uid}`, // on every version (batch.kubernetes.io/: 1.27+)
      onRefused: cannotFollow(`watch the pods of Job ${namespace}/${name}`),
      onChange: ({ type, object }) => {
        const deleted = type === "DELETED";
        if (observer.podChanged(object, deleted) && !deleted) to.watchPodEvents(object);
        podLogs.observe(object, deleted);
        decision.evaluate();
      },
    }),
    new Informer<CoreV1Event>(api, {
      ...common,
      path: paths.events(namespace),
      fieldSelector: `involvedObject.uid=${uid}`,
      // Events only explain failures: without them the step still runs, less well told.
      onRefused: (error) => {
        output.note(
          `cannot watch the Job's Events, so failures are explained less well: ${error.message}`,
        );
      },
      onChange: ({ type, object }) => {
        if (type === "DELETED") return;
        observer.jobEventChanged(object);
        decision.evaluate();
      },
    }),
  ];
}

/** The informer on one pod's Events: a volume that cannot be mounted is told only there. */
function podEventsInformer(
  options: FollowOptions,
  stop: AbortSignal,
  to: Listeners,
  pod: V1Pod,
): Informer<CoreV1Event> {
  const name = pod.metadata!.name!;
  return new Informer<CoreV1Event>(options.api, {
    path: paths.events(options.namespace),
    fieldSelector: `involvedObject.uid=${pod.metadata!.uid}`,
    signal: stop,
    log: options.debug,
    onContact: to.onContact,
    onRefused: () => {},
    onChange: ({ type, object }) => {
      if (type === "DELETED") return;
      to.observer.podEventChanged(name, object);
      to.decision.evaluate();
    },
  });
}

/**
 * Follows the Job until its verdict, with every log line of the containers that ran: the
 * informers feed the observer, the decision judges it, the pods' logs stream meanwhile and
 * are read to their end once the verdict is known.
 */
export async function followJob(options: FollowOptions): Promise<FinalVerdict> {
  const { output, signal } = options;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) stop.abort();

  const observer = new Observer(options.job.metadata!.uid!, {
    submittedAt: options.submittedAt,
    stepContainer: options.limits.stepContainer,
  });
  const decision = new Decision(observer, options.limits);
  const reachability = new Reachability({
    budgetMs: options.unreachableBudgetMs,
    note: (message) => void output.note(message),
    exhausted: (error) =>
      decision.fail(new UserError(`cannot follow the step: ${error.message}`, EXIT.internal.code)),
  });
  const podLogs = new PodLogs({
    api: options.api,
    namespace: options.namespace,
    output,
    stepContainer: options.limits.stepContainer,
    onStepOutput: () => observer.stepPrinted(),
    log: options.debug,
  });
  const informers: { done: Promise<void> }[] = [];
  const listeners: Listeners = {
    observer,
    decision,
    podLogs,
    onContact: (contact) => reachability.contact(contact),
    watchPodEvents: (pod) =>
      informers.push(podEventsInformer(options, stop.signal, listeners, pod)),
  };
  informers.push(...jobInformers(options, stop.signal, listeners));

  const { verdict } = decision;
  const decidedOrStopped = Promise.race([verdict.then(() => undefined), aborted(stop.signal)]);
  const logsStop = new AbortController();
  const logs = podLogs.follow(decidedOrStopped, logsStop.signal);

  try {
    const result = await Promise.race([verdict, aborted(stop.signal).then(() => undefined)]);
    if (!result) throw signal.reason ?? new Error("cancelled");
    await readLogsToTheEnd(logs, podLogs, result, output, stop.signal);
    // A line of the step's read only now still means its command ran.
    return result.lostBeforeCommand && observer.stepMayHaveRun
      ? { ...result, lostBeforeCommand: false }
      : result;
  } finally {
    logsStop.abort();
    stop.abort();
    decision.stop();
    reachability.stop();
    signal.removeEventListener("abort", onAbort);
    await Promise.allSettled([logs, ...informers.map((informer) => informer.done)]);
  }
}

/** After the verdict, reads the logs to their end while they keep coming. */
async function readLogsToTheEnd(
  logs: Promise<void>,
  podLogs: PodLogs,
  result: FinalVerdict,
  output: Output,
  signal: AbortSignal,
): Promise<void> {
  const decidedAt = Date.now();
  const idleMs = result.stuck ? STUCK_LOG_DRAIN_IDLE_MS : LOG_DRAIN_IDLE_MS;
  const lastProgress = () => Math.max(podLogs.lastProgress, decidedAt);
  if (!await drain(logs, lastProgress, idleMs, signal) && !result.stuck) {
    await output.note(
      `the logs could not be read to the end: nothing more arrived for ${idleMs / 1000} s`,
    );
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
