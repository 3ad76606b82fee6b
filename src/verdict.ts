/**
 * Pure: what the observed Job, pods and events mean for the step. Either "wait" (with the
 * time at which a grace period or timeout runs out), or the step's exit status with a one
 * line summary and a diagnosis. Every container is read by name, never by position.
 *
 * @module
 */
import type { CoreV1Event, V1ContainerStatus, V1Job, V1Pod } from "@kubernetes/client-node";
import { EXIT } from "./exit_status.ts";
import { CREATE_FAILURES, PULL_FAILURES, pullingKey, waitingKey } from "./follow/clocks.ts";

/** What the follower has seen so far. */
export interface Observation {
  /** The Job as last seen; undefined before the first list. */
  job?: V1Job;
  /** The Job was deleted before it finished. */
  jobDeleted: boolean;
  /** The Job's pods, oldest first. */
  pods: V1Pod[];
  /** Names of pods that were deleted before they finished. */
  deletedPods: ReadonlySet<string>;
  /** Events whose object is the Job. */
  jobEvents: CoreV1Event[];
  /** Events whose object is one of the Job's pods. */
  podEvents: CoreV1Event[];
  /**
   * When (ms, local clock) each condition was first seen: `pod:<name>` for a pod,
   * `<pod>/<container>/pull|create` while a container waits on a failing pull or creation
   * and `<pod>/<container>/pulling` while the kubelet pulls again (`follow/clocks.ts`),
   * `<pod>/mount` for a `FailedMount`.
   */
  firstSeen: ReadonlyMap<string, number>;
  /** Now (ms, local clock). */
  now: number;
  /** When the Job was created (ms, local clock). */
  submittedAt: number;
  /**
   * Whether the step container of any of the Job's pods was ever seen running or ended, or
   * printed a line: its command may have run.
   */
  stepMayHaveRun: boolean;
}

/** The step's limits, from its options. */
export interface Limits {
  /** `pending-timeout` in ms; 0 for none. */
  pendingTimeoutMs: number;
  /** `image-pull-grace` in ms. */
  imagePullGraceMs: number;
  /** `pod-creation-grace` in ms. */
  podCreationGraceMs: number;
  /** The name of the step's container. */
  stepContainer: string;
}

/** One row of a diagnosis: what went wrong where. */
export interface DiagnosisRow {
  /** The container concerned. */
  container?: string;
  /** Its image. */
  image?: string;
  /** The reason Kubernetes gives. */
  reason?: string;
  /** Kubernetes' message. */
  message?: string;
}

/** The judgement on the observation. */
export type Verdict =
  | { done: false; recheckAt?: number }
  | {
    done: true;
    /** The hook's exit status. */
    exitStatus: number;
    /** One line saying what happened; empty when the step simply succeeded. */
    summary: string;
    /** Details for infrastructure failures, printed with the recent events. */
    diagnosis?: DiagnosisRow[];
    /** The pod the verdict is about, if any. */
    pod?: V1Pod;
    /** Whether the Job is still running (stuck) and should be deleted now. */
    stuck: boolean;
    /**
     * The pod was lost (96) before the step's command could have run: a new Job may run the
     * step again without running its command twice (`lost-pod-retries`).
     */
    lostBeforeCommand?: boolean;
  };

/** A verdict that ends the step. */
type FinalVerdict = Extract<Verdict, { done: true }>;

const FAIL_AT_ONCE = new Set(["InvalidImageName", "ErrImageNeverPull"]);

const SIGNALS: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  6: "SIGABRT",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
};

/**
 * `FailedCreate` causes no retry can heal: the API server refuses the same pod template the
 * same way every time, so the step fails at once rather than after `pod-creation-grace`.
 * Anything else may heal while the Job controller retries: a quota freed by other pods, an
 * admission webhook that timed out, a ServiceAccount being created.
 */
const UNHEALABLE_CREATE_FAILURES = [
  // PodSecurity admission: the namespace enforces a level the pod's security settings break.
  /violates PodSecurity/,
  // The API server's validation (422 Invalid, `Pod "…" is invalid: …` with field errors such as
  // `Invalid value` or `Forbidden`), e.g. a LimitRange's default limit below the step's request.
  / is invalid: /,
];

/** How long a deleted pod waits for the Job's conditions to explain it. */
const DELETION_GRACE_MS = 2000;

/**
 * How long a failed Job waits for its pod's watch to report the step container's end: the
 * two travel on separate watches, and the pod's may be reconnecting.
 */
const JOB_FAILURE_GRACE_MS = 5000;

/** The `firstSeen` key of the moment the Job was first seen failed. */
export const JOB_FAILED_KEY = "job:failed";

/** The `firstSeen` key of the moment the Job was first seen succeeded. */
export const JOB_SUCCEEDED_KEY = "job:succeeded";

function condition(job: V1Job | undefined, type: string) {
  return job?.status?.conditions?.find((c) => c.type === type && c.status === "True");
}

function deadlineFailure(job: V1Job | undefined): boolean {
  return (condition(job, "Failed") ?? condition(job, "FailureTarget"))?.reason ===
    "DeadlineExceeded";
}

function timeoutSummary(job: V1Job | undefined): string {
  const deadline = job?.spec?.activeDeadlineSeconds;
  return `The step exceeded its timeout of ${
    deadline !== undefined ? seconds(deadline * 1000) : "?"
  } ` +
    "(the Job's activeDeadlineSeconds: the step's active-deadline-seconds, else its timeout_in_minutes); Kubernetes stopped it.";
}

/** Whether the Job has finished, and how. */
export function jobOutcome(job: V1Job | undefined): "succeeded" | "failed" | undefined {
  if (condition(job, "Complete") || condition(job, "SuccessCriteriaMet")) return "succeeded";
  if (condition(job, "Failed") || condition(job, "FailureTarget")) return "failed";
  return undefined;
}

function statuses(pod: V1Pod): { init: boolean; status: V1ContainerStatus }[] {
  return [
    ...(pod.status?.initContainerStatuses ?? []).map((status) => ({ init: true, status })),
    ...(pod.status?.containerStatuses ?? []).map((status) => ({ init: false, status })),
  ];
}

function imageOf(pod: V1Pod, container: string): string | undefined {
  const spec = pod.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]
    .find((c) => c.name === container)?.image;
}

/** Whether an init container is a native sidecar (`restartPolicy: Always`). */
function nativeSidecar(pod: V1Pod, container: string): boolean {
  return pod.spec?.initContainers?.find((c) => c.name === container)?.restartPolicy === "Always";
}

function memoryLimit(pod: V1Pod, container: string): string | undefined {
  return pod.spec?.containers.find((c) => c.name === container)?.resources?.limits?.memory;
}

/** Whether the step container of the pod has started: its command may have run. */
function stepStarted(pod: V1Pod, limits: Limits): boolean {
  const step = pod.status?.containerStatuses?.find((s) => s.name === limits.stepContainer);
  return step?.state?.running !== undefined || step?.state?.terminated !== undefined ||
    step?.lastState?.terminated !== undefined;
}

/** Whether the step's command may have run in any of the Job's pods. */
function commandMayHaveRun(observation: Observation, limits: Limits): boolean {
  return observation.stepMayHaveRun || observation.pods.some((pod) => stepStarted(pod, limits));
}

/** Whether any container of the pod has started (the pod is past scheduling and pulling). */
function started(pod: V1Pod): boolean {
  return statuses(pod).some(({ status }) => status.state?.running || status.state?.terminated);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/**
 * A time the API server stamped (an Event's, a condition's) on the follower's clock: its
 * distance from the Job's `creationTimestamp`, both by the server's clock, added to the moment
 * of submission. The two clocks may be any distance apart; a duration on one clock is sound.
 * Both stamps have whole seconds, so the result is within a second or so.
 */
function localTime(observation: Observation, stamp: Date | string | undefined): number | undefined {
  const created = observation.job?.metadata?.creationTimestamp;
  if (stamp === undefined || created === undefined) return undefined;
  const offset = new Date(stamp).getTime() - new Date(created).getTime();
  return Number.isNaN(offset) ? undefined : observation.submittedAt + Math.max(0, offset);
}

/** The `FailedMount` key of `firstSeen` for a pod. */
export function mountKey(podName: string): string {
  return `${podName}/mount`;
}

/**
 * A volume the kubelet cannot mount (a missing Secret or PersistentVolumeClaim): the pod
 * stays `ContainerCreating` and `FailedMount` Events come, which may yet heal (the Secret
 * is being created). After `image-pull-grace` the step fails with 93 and the mount's
 * message; before, the verdict waits until then.
 */
function failedMount(
  observation: Observation,
  pod: V1Pod,
  limits: Limits,
): Extract<Verdict, { done: true }> | { done: false; recheckAt: number } | undefined {
  const uid = pod.metadata?.uid;
  const event = observation.podEvents
    .filter((e) => e.involvedObject?.uid === uid && e.reason === "FailedMount").at(-1);
  if (!event) return undefined;
  const since = observation.firstSeen.get(mountKey(pod.metadata!.name!)) ?? observation.now;
  if (observation.now - since < limits.imagePullGraceMs) {
    return { done: false, recheckAt: since + limits.imagePullGraceMs };
  }
  return {
    done: true,
    exitStatus: EXIT.containerConfig.code,
    summary: `A volume of pod ${pod.metadata!.name} could not be mounted for ${
      seconds(observation.now - since)
    } (FailedMount).`,
    diagnosis: [{ reason: "FailedMount", message: event.message }],
    pod,
    stuck: true,
  };
}

/**
 * The Job cannot create its pod (`FailedCreate` Events): the Job controller retries with
 * back-off, so a cause that may heal waits `pod-creation-grace` from the first such Event, and
 * one that cannot fails at once; either way with 95 and the latest message.
 */
function failedCreate(
  observation: Observation,
  limits: Limits,
): FinalVerdict | { done: false; recheckAt: number } | undefined {
  const events = observation.jobEvents.filter((e) => e.reason === "FailedCreate")
    .sort((a, b) => eventTime(a, "last") - eventTime(b, "last"));
  const latest = events.at(-1);
  if (!latest) return undefined;
  const message = latest.message ?? "FailedCreate";
  const diagnosis = [{ reason: "FailedCreate", message: latest.message }];
  if (UNHEALABLE_CREATE_FAILURES.some((pattern) => pattern.test(message))) {
    return {
      done: true,
      exitStatus: EXIT.noPod.code,
      summary: `The Job cannot create its pod, and retrying cannot help: ${message}`,
      diagnosis,
      stuck: true,
    };
  }
  const first = Math.min(...events.map((e) => eventTime(e, "first")));
  // An Event without a time (never from a real API server) counts from the submission.
  const since = localTime(observation, new Date(first)) ?? observation.submittedAt;
  if (observation.now - since < limits.podCreationGraceMs) {
    return { done: false, recheckAt: since + limits.podCreationGraceMs };
  }
  return {
    done: true,
    exitStatus: EXIT.noPod.code,
    summary: `The Job could not create its pod for ${
      seconds(observation.now - since)
    } (pod-creation-grace ${seconds(limits.podCreationGraceMs)}): ${message}`,
    diagnosis,
    stuck: true,
  };
}

/** An Event's first or last occurrence (ms, server clock); NaN when it carries neither. */
function eventTime(event: CoreV1Event, which: "first" | "last"): number {
  const stamp = which === "first"
    ? event.firstTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp
    : event.lastTimestamp ?? event.series?.lastObservedTime ?? event.eventTime ??
      event.firstTimestamp;
  return stamp === undefined ? NaN : new Date(stamp).getTime();
}

/**
 * A Job suspended from outside (`spec.suspend`, as Kueue does to preempt a workload): the Job
 * controller deletes its pods, which says nothing about the command, and starts a new pod when
 * the Job is resumed. The plugin resumes a Job it created suspended before following it, so a
 * suspension seen here is someone else's. It waits for the resumption up to `pending-timeout`
 * from the suspension (the controller's `Suspended` condition), then fails with 94.
 */
function suspended(observation: Observation, limits: Limits): Verdict | undefined {
  const { job } = observation;
  if (job?.spec?.suspend !== true || observation.jobDeleted || jobOutcome(job) !== undefined) {
    return undefined;
  }
  const suspension = condition(job, "Suspended");
  // Until the controller records the suspension, its record's arrival judges again.
  if (!suspension || limits.pendingTimeoutMs === 0) return { done: false };
  const since = localTime(observation, suspension.lastTransitionTime) ?? observation.submittedAt;
  if (observation.now - since < limits.pendingTimeoutMs) {
    return { done: false, recheckAt: since + limits.pendingTimeoutMs };
  }
  return {
    done: true,
    exitStatus: EXIT.pending.code,
    summary: `The Job was suspended (spec.suspend, e.g. by Kueue) and not resumed within ` +
      `pending-timeout (${seconds(limits.pendingTimeoutMs)}).`,
    diagnosis: [{
      reason: suspension.reason ?? "Suspended",
      message: `${suspension.message ?? "Job suspended"}: someone else set the Job's ` +
        "spec.suspend, and its pods were deleted",
    }],
    pod: observation.pods.at(-1),
    stuck: true,
  };
}

/**
 * Whether the Job controller may replace a pod that was lost (deleted, evicted, drained)
 * before the step finished: retries are left (`backoffLimit`), a `podFailurePolicy` may ignore
 * the disruption, or the Job has been suspended (the pods a suspension deletes are not counted
 * as failures). `status.failed` is not read: whether it counts the lost pod yet depends on
 * which watch arrived first. The controller's own answer is the Job's `FailureTarget` or
 * `Failed` condition, or a new pod.
 */
function mayBeReplaced(observation: Observation): boolean {
  const { job } = observation;
  if (observation.jobDeleted || job?.metadata?.deletionTimestamp || jobOutcome(job)) return false;
  return (job?.spec?.backoffLimit ?? 0) > 0 ||
    (job?.spec?.podFailurePolicy?.rules ?? []).some((rule) => rule.action === "Ignore") ||
    (job?.status?.conditions ?? []).some((c) => c.type === "Suspended");
}

/**
 * A lost pod the Job controller may replace: waits for the new pod (then followed like the
 * first), up to `pending-timeout` from the loss; past it, fails with 94.
 */
function awaitingReplacement(
  observation: Observation,
  pod: V1Pod,
  lostAt: number,
  limits: Limits,
): Verdict {
  if (limits.pendingTimeoutMs === 0) return { done: false };
  if (observation.now - lostAt < limits.pendingTimeoutMs) {
    return { done: false, recheckAt: lostAt + limits.pendingTimeoutMs };
  }
  const name = pod.metadata!.name!;
  const disruption = disruptionOf(pod);
  const lost = disruption
    ? `was stopped by Kubernetes (${disruption.reason})`
    : "was deleted by someone else";
  return {
    done: true,
    exitStatus: EXIT.pending.code,
    summary: `The pod ${name} ${lost} and the Job did not replace it within pending-timeout ` +
      `(${seconds(limits.pendingTimeoutMs)}).`,
    diagnosis: [{
      reason: disruption?.reason ?? "Deleted",
      message: `${disruption?.message ?? `pod ${name} was deleted`}; no new pod ` +
        "started, though the Job had retries left",
    }],
    pod,
    stuck: true,
  };
}

/** Why Kubernetes stopped a pod (eviction, preemption, node shutdown), if it did. */
function disruptionOf(pod: V1Pod): { reason?: string; message?: string; at?: Date } | undefined {
  const disruption = pod.status?.conditions?.find((c) =>
    c.type === "DisruptionTarget" && c.status === "True"
  );
  if (pod.status?.reason === "Evicted") {
    return { reason: "Evicted", message: pod.status.message, at: disruption?.lastTransitionTime };
  }
  return disruption && {
    reason: disruption.reason,
    message: disruption.message,
    at: disruption.lastTransitionTime,
  };
}

/**
 * A pod that Kubernetes stopped (an eviction through the Eviction API or by node pressure,
 * a preemption, a node shutdown: the `DisruptionTarget` condition or `reason: Evicted`):
 * the step was lost, not failed by its command, whatever signal ended the container. When
 * the Job may replace the pod, the replacement is waited for.
 */
function disruptedVerdict(
  observation: Observation,
  pod: V1Pod,
  limits: Limits,
): Verdict | undefined {
  const disruption = disruptionOf(pod);
  if (!disruption) return undefined;
  if (mayBeReplaced(observation)) {
    const lostAt = localTime(observation, disruption.at) ??
      observation.firstSeen.get(`pod:${pod.metadata!.name}`) ?? observation.submittedAt;
    return awaitingReplacement(observation, pod, lostAt, limits);
  }
  return {
    done: true,
    exitStatus: EXIT.lost.code,
    summary: `The pod ${pod.metadata!.name} was stopped by Kubernetes before the step ` +
      `finished (${disruption.reason}): ${disruption.message ?? "no message"}`,
    diagnosis: [{ reason: disruption.reason, message: disruption.message }],
    pod,
    stuck: true,
    lostBeforeCommand: !commandMayHaveRun(observation, limits),
  };
}

/**
 * The verdict on a terminated step container. A kubelet reports a signal only as the exit
 * status (128 + the signal), and an out-of-memory kill as the reason `OOMKilled`.
 */
function terminatedVerdict(pod: V1Pod, limits: Limits, status: V1ContainerStatus): Verdict {
  const terminated = status.state!.terminated!;
  const code = terminated.exitCode;
  const name = limits.stepContainer;
  if (terminated.reason === "OOMKilled") {
    const limit = memoryLimit(pod, name);
    return {
      done: true,
      exitStatus: code,
      summary: `The step container was killed for using more memory than its limit` +
        `${limit ? ` of ${limit}` : ""} (OOMKilled, exit status ${code}).`,
      diagnosis: [{
        container: name,
        image: imageOf(pod, name),
        reason: "OOMKilled",
        message: limit
          ? `memory limit ${limit}`
          : "no memory limit set: the node ran out of memory",
      }],
      pod,
      stuck: false,
    };
  }
  const summary = code === 0
    ? ""
    : code > 128 && code - 128 in SIGNALS
    ? `The step's command was killed by ${SIGNALS[code - 128]} (exit status ${code}).`
    : `The step's command exited with status ${code}.`;
  const sidecars = sidecarsEndedWhileRunning(pod);
  return {
    done: true,
    exitStatus: code,
    summary: [summary, ...sidecars].filter(Boolean).join(" "),
    pod,
    stuck: false,
  };
}

/**
 * The native sidecars that ended while the step ran and were restarted: reported beside the
 * step's status, which stays the command's (the command may have coped).
 */
function sidecarsEndedWhileRunning(pod: V1Pod): string[] {
  return statuses(pod).flatMap(({ init, status }) => {
    const last = status.lastState?.terminated;
    if (!init || !nativeSidecar(pod, status.name) || !last || status.restartCount === 0) return [];
    const times = status.restartCount === 1 ? "once" : `${status.restartCount} times`;
    return [
      `The sidecar "${status.name}" exited with status ${last.exitCode}${
        last.reason ? ` (${last.reason})` : ""
      } while the step ran, and was restarted ${times}.`,
    ];
  });
}

/**
 * A pod deleted (or being deleted) by someone else before its step container succeeded. The
 * kubelet stops the containers first, so their exit statuses say nothing about the command.
 * The Job's own deletions (a deadline) are told apart by its condition, which travels on
 * another watch: a deletion gets a moment for it to arrive. When the Job may replace the pod,
 * the replacement is waited for.
 */
function deletedFromOutside(
  observation: Observation,
  pod: V1Pod,
  limits: Limits,
): Verdict | undefined {
  const name = pod.metadata!.name!;
  const deleting = observation.deletedPods.has(name) ||
    pod.metadata?.deletionTimestamp !== undefined;
  // A Job that fails because this pod was deleted is still the deletion's doing; only the
  // Job's own deadline deletes its pods.
  if (
    !deleting || deadlineFailure(observation.job) || jobOutcome(observation.job) === "succeeded"
  ) {
    return undefined;
  }
  const step = pod.status?.containerStatuses?.find((status) =>
    status.name === limits.stepContainer
  );
  if (step?.state?.terminated?.exitCode === 0) return undefined;
  const since = observation.firstSeen.get(`deleted:${name}`) ?? observation.now;
  if (mayBeReplaced(observation)) return awaitingReplacement(observation, pod, since, limits);
  if (observation.now - since < DELETION_GRACE_MS) {
    return { done: false, recheckAt: since + DELETION_GRACE_MS };
  }
  const code = step?.state?.terminated?.exitCode;
  return {
    done: true,
    exitStatus: EXIT.lost.code,
    summary: `The pod ${name} was deleted by someone else before the step finished` +
      (code === undefined ? "." : ` (its container was stopped with status ${code}).`),
    diagnosis: [{
      reason: "Deleted",
      message:
        `pod ${name} was deleted at ${pod.metadata?.deletionTimestamp ?? "an unknown time"} ` +
        "while its step ran; see the Events for who or what stopped it",
    }],
    pod,
    stuck: true,
    lostBeforeCommand: !commandMayHaveRun(observation, limits),
  };
}

/**
 * The verdict on a container of the newest pod that has ended: the step container's status
 * is the step's (unless Kubernetes stopped the pod or the Job retries), a failed init
 * container ends the step before its command ran.
 */
function endedContainer(observation: Observation, pod: V1Pod, limits: Limits): Verdict | undefined {
  const { job } = observation;
  const retries = (job?.spec?.backoffLimit ?? 0) > 0 && jobOutcome(job) === undefined;
  for (const { init, status } of statuses(pod)) {
    const terminated = status.state?.terminated;
    // A native sidecar ends when the pod stops it, or crashes and is restarted: neither is
    // the step's outcome.
    if (!terminated || (init && nativeSidecar(pod, status.name))) continue;
    if (!init && status.name === limits.stepContainer) {
      if (terminated.exitCode !== 0) {
        const disrupted = disruptedVerdict(observation, pod, limits);
        if (disrupted) return disrupted;
        if (retries) return { done: false };
      }
      if (terminated.exitCode !== 0 && deadlineFailure(job)) {
        const failed = condition(job, "Failed") ?? condition(job, "FailureTarget");
        return {
          done: true,
          exitStatus: terminated.exitCode,
          summary: `${
            timeoutSummary(job)
          } The step container ended with status ${terminated.exitCode}.`,
          diagnosis: [{ reason: failed?.reason, message: failed?.message }],
          pod,
          stuck: false,
        };
      }
      return terminatedVerdict(pod, limits, status);
    }
    if (init && terminated.exitCode !== 0) {
      if (retries) return { done: false };
      return {
        done: true,
        exitStatus: terminated.exitCode,
        summary:
          `The ${status.name === "bootstrap" ? "checkout" : "init"} container "${status.name}" ` +
          `failed with exit status ${terminated.exitCode}${
            terminated.reason ? ` (${terminated.reason})` : ""
          }; ` +
          "the step's command did not run.",
        diagnosis: [{
          container: status.name,
          image: imageOf(pod, status.name),
          reason: terminated.reason,
          message: terminated.message,
        }],
        pod,
        stuck: false,
      };
    }
  }
  return undefined;
}

/** The Job deleted by someone else before its step container ended. */
function deletedJob(observation: Observation): Verdict | undefined {
  if (!observation.jobDeleted) return undefined;
  return {
    done: true,
    exitStatus: EXIT.lost.code,
    summary: "The Job was deleted by someone else before the step finished.",
    pod: observation.pods.at(-1),
    stuck: false,
  };
}

/**
 * The Job finished without a result from the step container: its deadline (143), a success,
 * a failure after its last pod was stopped by Kubernetes (96, as for a pod without retries),
 * or a failure the pod's watch had a moment to explain.
 */
function finishedJob(observation: Observation, limits: Limits): Verdict | undefined {
  const { job, now } = observation;
  const pod = observation.pods.at(-1);
  const outcome = jobOutcome(job);
  if (outcome === "succeeded") {
    // The step container's end travels on the pods' watch, which may be reconnecting: wait a
    // moment for it, so that its log is read (a Job known complete first would skip it).
    const since = observation.firstSeen.get(JOB_SUCCEEDED_KEY) ?? now;
    if (now - since < JOB_FAILURE_GRACE_MS) {
      return { done: false, recheckAt: since + JOB_FAILURE_GRACE_MS };
    }
    return { done: true, exitStatus: 0, summary: "", pod, stuck: false };
  }
  if (outcome !== "failed") return undefined;
  const failed = condition(job, "Failed") ?? condition(job, "FailureTarget");
  if (failed?.reason === "DeadlineExceeded") {
    return {
      done: true,
      exitStatus: 143,
      summary: timeoutSummary(job),
      diagnosis: [{ reason: failed.reason, message: failed.message }],
      pod,
      stuck: false,
    };
  }
  // Its retries spent on pods Kubernetes stopped: the last one's loss is the step's.
  const disrupted = pod && disruptedVerdict(observation, pod, limits);
  if (disrupted) return disrupted;
  const since = observation.firstSeen.get(JOB_FAILED_KEY) ?? now;
  if (now - since < JOB_FAILURE_GRACE_MS) {
    return { done: false, recheckAt: since + JOB_FAILURE_GRACE_MS };
  }
  return {
    done: true,
    exitStatus: EXIT.lost.code,
    summary: `The Job failed (${
      failed?.reason ?? "no reason given"
    }) without a result from the step container.`,
    diagnosis: [{ reason: failed?.reason, message: failed?.message }],
    pod,
    stuck: false,
  };
}

/** The newest pod stopped by Kubernetes, or failed as a whole, before its containers ended. */
function stoppedPod(observation: Observation, pod: V1Pod, limits: Limits): Verdict | undefined {
  const disrupted = disruptedVerdict(observation, pod, limits);
  if (disrupted) return disrupted;
  if (pod.status?.phase !== "Failed") return undefined;
  return {
    done: true,
    exitStatus: pod.status.reason === "DeadlineExceeded" ? 143 : EXIT.lost.code,
    summary: `The pod ${pod.metadata!.name} failed (${pod.status.reason ?? "no reason"}): ${
      pod.status.message ?? ""
    }`.trim(),
    diagnosis: [{ reason: pod.status.reason, message: pod.status.message }],
    pod,
    stuck: false,
  };
}

/** The kubelet's latest `Unhealthy` Event of a failed startup probe of a pod's container. */
function startupProbeFailure(
  observation: Observation,
  pod: V1Pod,
  container: string,
): CoreV1Event | undefined {
  return observation.podEvents.filter((event) =>
    event.involvedObject?.uid === pod.metadata?.uid && event.reason === "Unhealthy" &&
    event.involvedObject?.fieldPath?.endsWith(`{${container}}`) &&
    /^Startup probe failed/.test(event.message ?? "")
  ).sort((a, b) => eventTime(a, "last") - eventTime(b, "last")).at(-1);
}

/**
 * A native sidecar (the `sidecars` option, or one added by a patch) that ended or was
 * restarted before the step container started: it crashed, exited, or failed its startup
 * probe (the kubelet kills it, and says why in `Unhealthy` Events). The kubelet would restart
 * it for ever and the step container wait for it, so the step fails with 93, naming it.
 */
function failedSidecar(observation: Observation, pod: V1Pod, limits: Limits): Verdict | undefined {
  if (stepStarted(pod, limits)) return undefined;
  for (const { init, status } of statuses(pod)) {
    if (!init || !nativeSidecar(pod, status.name)) continue;
    const ended = status.state?.terminated ?? status.lastState?.terminated;
    const waiting = status.state?.waiting?.reason;
    if (!ended && waiting !== "CrashLoopBackOff" && status.restartCount === 0) continue;
    const probe = startupProbeFailure(observation, pod, status.name);
    const how = probe
      ? `failed its startup probe (${probe.message})`
      : ended
      ? `exited with status ${ended.exitCode}${ended.reason ? ` (${ended.reason})` : ""}`
      : `is restarted over and over (${waiting ?? "restarted"})`;
    return {
      done: true,
      exitStatus: EXIT.containerConfig.code,
      summary: `The sidecar "${status.name}" ${how} before the step started; ` +
        "the step's command did not run.",
      diagnosis: [{
        container: status.name,
        image: imageOf(pod, status.name) ?? status.image,
        reason: probe ? "StartupProbeFailed" : ended?.reason ?? waiting,
        message: probe?.message ?? ended?.message,
      }],
      pod,
      stuck: true,
    };
  }
  return undefined;
}

/** A verdict that is not final yet, and when to judge again. */
type Wait = { done: false; recheckAt?: number };

/**
 * A container waiting on an image that cannot be used (92 at once), or on a pull or creation
 * failing beyond `image-pull-grace` (91, 93); else the earliest time a grace runs out.
 */
function waitingContainers(
  observation: Observation,
  pod: V1Pod,
  limits: Limits,
): Verdict | undefined {
  const { now } = observation;
  const podName = pod.metadata!.name!;
  let recheckAt: number | undefined;
  for (const { status } of statuses(pod)) {
    const reason = status.state?.waiting?.reason;
    if (!reason) continue;
    const row = {
      container: status.name,
      image: imageOf(pod, status.name) ?? status.image,
      reason,
      message: status.state!.waiting!.message,
    };
    if (FAIL_AT_ONCE.has(reason)) {
      return {
        done: true,
        exitStatus: EXIT.invalidImage.code,
        summary: `The image of container "${status.name}" cannot be used: ${reason}.`,
        diagnosis: [row],
        pod,
        stuck: true,
      };
    }
    const pull = PULL_FAILURES.has(reason);
    if (!pull && !CREATE_FAILURES.has(reason)) continue;
    // The kubelet is pulling again: the attempt's end (a failure, or the container's start)
    // comes as a change.
    if (pull && observation.firstSeen.has(pullingKey(podName, status.name))) continue;
    const since =
      observation.firstSeen.get(waitingKey(podName, status.name, pull ? "pull" : "create")) ??
        now;
    if (now - since < limits.imagePullGraceMs) {
      recheckAt = earliest(recheckAt, since + limits.imagePullGraceMs);
      continue;
    }
    return {
      done: true,
      exitStatus: pull ? EXIT.imagePull.code : EXIT.containerConfig.code,
      summary: pull
        ? `The image of container "${status.name}" could not be pulled for ${
          seconds(now - since)
        } (${reason}).`
        : `Container "${status.name}" could not be created for ${
          seconds(now - since)
        } (${reason}).`,
      diagnosis: [row],
      pod,
      stuck: true,
    };
  }
  return recheckAt === undefined ? undefined : { done: false, recheckAt };
}

/** No pod, or none started, within `pending-timeout` (94); else when it runs out. */
function pendingTimeout(
  observation: Observation,
  pod: V1Pod | undefined,
  limits: Limits,
): Verdict | undefined {
  const { now } = observation;
  if (limits.pendingTimeoutMs <= 0 || (pod && started(pod))) return undefined;
  const since = pod
    ? Math.max(
      observation.submittedAt,
      observation.firstSeen.get(`pod:${pod.metadata!.name}`) ?? observation.submittedAt,
    )
    : observation.submittedAt;
  if (now - since < limits.pendingTimeoutMs) {
    return { done: false, recheckAt: since + limits.pendingTimeoutMs };
  }
  const scheduled = pod?.status?.conditions?.find((c) => c.type === "PodScheduled");
  const unschedulable = scheduled?.status === "False";
  return {
    done: true,
    exitStatus: EXIT.pending.code,
    summary: !pod
      ? `No pod was created within pending-timeout (${seconds(limits.pendingTimeoutMs)}).`
      : unschedulable
      ? `The pod could not be scheduled within pending-timeout (${
        seconds(limits.pendingTimeoutMs)
      }): ${scheduled?.message ?? scheduled?.reason ?? "Unschedulable"}`
      : `The pod did not start within pending-timeout (${seconds(limits.pendingTimeoutMs)}).`,
    diagnosis: [{
      reason: unschedulable ? scheduled?.reason ?? "Unschedulable" : pod?.status?.phase ?? "NoPod",
      message: scheduled?.message,
    }],
    pod,
    stuck: true,
  };
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * A step not started yet: each grace (a waiting container, a volume, the pod's creation) and
 * `pending-timeout` may fail it now; else it waits until the earliest of them runs out.
 */
function notStarted(observation: Observation, pod: V1Pod | undefined, limits: Limits): Verdict {
  const checks = [
    pod && waitingContainers(observation, pod, limits),
    pod && !started(pod) ? failedMount(observation, pod, limits) : undefined,
    pod ? undefined : failedCreate(observation, limits),
    pendingTimeout(observation, pod, limits),
  ];
  let recheckAt: number | undefined;
  for (const check of checks) {
    if (check?.done) return check;
    recheckAt = earliest(recheckAt, (check as Wait | undefined)?.recheckAt);
  }
  return { done: false, recheckAt };
}

/**
 * Judges what the observation means for the step, asking in turn: is the Job suspended, was
 * the newest pod lost, has one of its containers ended, was the Job deleted or has it
 * finished, was the pod stopped, did a sidecar fail before the step started; the first that
 * knows, decides. Else the step has not started, and its graces and `pending-timeout` say
 * how long it may wait.
 */
export function judge(observation: Observation, limits: Limits): Verdict {
  if (!observation.job && !observation.jobDeleted) return { done: false };
  const pod = observation.pods.at(-1);
  return suspended(observation, limits) ??
    (pod && deletedFromOutside(observation, pod, limits)) ??
    (pod && endedContainer(observation, pod, limits)) ??
    deletedJob(observation) ??
    finishedJob(observation, limits) ??
    (pod && stoppedPod(observation, pod, limits)) ??
    (pod && failedSidecar(observation, pod, limits)) ??
    notStarted(observation, pod, limits);
}
