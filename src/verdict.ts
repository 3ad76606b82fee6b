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
}

/** The step's limits, from its options. */
export interface Limits {
  /** `pending-timeout` in ms; 0 for none. */
  pendingTimeoutMs: number;
  /** `image-pull-grace` in ms. */
  imagePullGraceMs: number;
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
  };

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

/** How long a deleted pod waits for the Job's conditions to explain it. */
const DELETION_GRACE_MS = 2000;

/**
 * How long a failed Job waits for its pod's watch to report the step container's end: the
 * two travel on separate watches, and the pod's may be reconnecting.
 */
const JOB_FAILURE_GRACE_MS = 5000;

/** The `firstSeen` key of the moment the Job was first seen failed. */
export const JOB_FAILED_KEY = "job:failed";

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
    "(the Job's activeDeadlineSeconds, from the step's timeout_in_minutes); Kubernetes stopped it.";
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

function memoryLimit(pod: V1Pod, container: string): string | undefined {
  return pod.spec?.containers.find((c) => c.name === container)?.resources?.limits?.memory;
}

/** Whether any container of the pod has started (the pod is past scheduling and pulling). */
function started(pod: V1Pod): boolean {
  return statuses(pod).some(({ status }) => status.state?.running || status.state?.terminated);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
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
 * A pod that Kubernetes stopped (an eviction through the Eviction API or by node pressure,
 * a preemption, a node shutdown: the `DisruptionTarget` condition or `reason: Evicted`):
 * the step was lost, not failed by its command, whatever signal ended the container.
 */
function disruptedVerdict(pod: V1Pod): Verdict | undefined {
  const disruption = pod.status?.conditions?.find((c) =>
    c.type === "DisruptionTarget" && c.status === "True"
  );
  if (pod.status?.reason !== "Evicted" && !disruption) return undefined;
  const message = pod.status?.reason === "Evicted" ? pod.status.message : disruption?.message;
  return {
    done: true,
    exitStatus: EXIT.lost.code,
    summary: `The pod ${pod.metadata!.name} was stopped by Kubernetes before the step ` +
      `finished (${pod.status?.reason === "Evicted" ? "Evicted" : disruption?.reason}): ${
        message ?? "no message"
      }`,
    diagnosis: [{
      reason: pod.status?.reason === "Evicted" ? "Evicted" : disruption?.reason,
      message,
    }],
    pod,
    stuck: true,
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
  return { done: true, exitStatus: code, summary, pod, stuck: false };
}

/**
 * A pod deleted (or being deleted) by someone else before its step container succeeded. The
 * kubelet stops the containers first, so their exit statuses say nothing about the command.
 * The Job's own deletions (a deadline) are told apart by its condition, which travels on
 * another watch: a deletion gets a moment for it to arrive.
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
  };
}

/** Judges what the observation means for the step. */
export function judge(observation: Observation, limits: Limits): Verdict {
  const { job, pods, now } = observation;
  if (!job && !observation.jobDeleted) return { done: false };
  const outcome = jobOutcome(job);
  const retries = (job?.spec?.backoffLimit ?? 0) > 0 && outcome === undefined;
  const pod = pods.at(-1);

  if (pod) {
    const lost = deletedFromOutside(observation, pod, limits);
    if (lost) return lost;
    for (const { init, status } of statuses(pod)) {
      const terminated = status.state?.terminated;
      if (!terminated) continue;
      if (!init && status.name === limits.stepContainer) {
        if (terminated.exitCode !== 0 && retries) return { done: false };
        const disrupted = terminated.exitCode !== 0 && disruptedVerdict(pod);
        if (disrupted) return disrupted;
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
  }

  if (observation.jobDeleted) {
    return {
      done: true,
      exitStatus: EXIT.lost.code,
      summary: "The Job was deleted by someone else before the step finished.",
      pod,
      stuck: false,
    };
  }

  if (outcome === "failed") {
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
  if (outcome === "succeeded") {
    return { done: true, exitStatus: 0, summary: "", pod, stuck: false };
  }

  const disrupted = pod && disruptedVerdict(pod);
  if (disrupted) return disrupted;
  if (pod && pod.status?.phase === "Failed") {
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

  let recheckAt: number | undefined;
  const deadlineAt = (at: number) => {
    recheckAt = recheckAt === undefined ? at : Math.min(recheckAt, at);
  };

  if (pod) {
    const podName = pod.metadata!.name!;
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
        deadlineAt(since + limits.imagePullGraceMs);
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
  }

  if (pod && !started(pod)) {
    const mount = failedMount(observation, pod, limits);
    if (mount?.done) return mount;
    if (mount) deadlineAt(mount.recheckAt!);
  }

  if (!pod) {
    const failedCreate = observation.jobEvents.filter((e) => e.reason === "FailedCreate").at(-1);
    if (failedCreate) {
      return {
        done: true,
        exitStatus: EXIT.noPod.code,
        summary: `The Job could not create its pod: ${failedCreate.message ?? "FailedCreate"}`,
        diagnosis: [{ reason: "FailedCreate", message: failedCreate.message }],
        stuck: true,
      };
    }
  }

  if (limits.pendingTimeoutMs > 0 && (!pod || !started(pod))) {
    const since = pod
      ? Math.max(
        observation.submittedAt,
        observation.firstSeen.get(`pod:${pod.metadata!.name}`) ?? observation.submittedAt,
      )
      : observation.submittedAt;
    if (now - since >= limits.pendingTimeoutMs) {
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
          reason: unschedulable
            ? scheduled?.reason ?? "Unschedulable"
            : pod?.status?.phase ?? "NoPod",
          message: scheduled?.message,
        }],
        pod,
        stuck: true,
      };
    }
    deadlineAt(since + limits.pendingTimeoutMs);
  }
  return { done: false, recheckAt };
}
