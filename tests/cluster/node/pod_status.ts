/**
 * Pod status as the kubelet computes it, as pure functions of the pod spec and the container
 * states: the phase (a port of the kubelet's `getPhase`), the kubelet-owned conditions
 * (`PodReadyToStartContainers`, `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`)
 * with their reasons and messages, and the rule that a terminal phase is never left.
 *
 * @module
 */

import type {
  Container,
  ContainerStatus,
  Pod,
  PodCondition,
  PodSpec,
  PodStatus,
} from "../kube_types.ts";

/** A pod phase. */
export type PodPhase = NonNullable<PodStatus["phase"]>;

const KUBELET_CONDITIONS = new Set([
  "PodScheduled",
  "Ready",
  "Initialized",
  "ContainersReady",
  "PodReadyToStartContainers",
]);

/** Whether a phase is terminal. */
export function isTerminal(phase: PodStatus["phase"]): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

/** The waiting reason of a container that has not been started yet. */
export function defaultWaitingReason(spec: PodSpec): "PodInitializing" | "ContainerCreating" {
  return spec.initContainers?.length ? "PodInitializing" : "ContainerCreating";
}

/** Whether a container that exited with `exitCode` is restarted (pod or container policy). */
export function containerShouldRestart(
  container: Container,
  spec: PodSpec,
  exitCode: number,
): boolean {
  const policy = container.restartPolicy ?? spec.restartPolicy ?? "Always";
  if (policy === "Always") return true;
  if (policy === "OnFailure") return exitCode !== 0;
  return false;
}

function statusOf(statuses: readonly ContainerStatus[], name: string) {
  return statuses.find((status) => status.name === name);
}

/**
 * The pod phase (the kubelet's `getPhase`, for pods without sidecar init containers):
 * `podIsTerminal` is set once the pod will run nothing more (deleted, deadline exceeded).
 */
export function podPhase(
  spec: PodSpec,
  initStatuses: readonly ContainerStatus[],
  statuses: readonly ContainerStatus[],
  podIsTerminal: boolean,
): PodPhase {
  let pendingInit = 0;
  let failedInitNotRestartable = 0;
  for (const container of spec.initContainers ?? []) {
    const status = statusOf(initStatuses, container.name);
    const failed = (exitCode: number) => {
      if (exitCode !== 0 && !containerShouldRestart(container, spec, exitCode)) {
        failedInitNotRestartable++;
      }
    };
    if (!status || status.state.running) {
      pendingInit++;
    } else if (status.state.terminated) {
      failed(status.state.terminated.exitCode);
    } else if (status.state.waiting && status.lastState.terminated) {
      failed(status.lastState.terminated.exitCode);
    } else {
      pendingInit++;
    }
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let stoppedNotRestartable = 0;
  let succeeded = 0;
  for (const container of spec.containers) {
    const status = statusOf(statuses, container.name);
    if (!status) {
      unknown++;
    } else if (status.state.running) {
      running++;
    } else if (status.state.terminated) {
      stopped++;
      const code = status.state.terminated.exitCode;
      if (!containerShouldRestart(container, spec, code)) stoppedNotRestartable++;
      if (code === 0) succeeded++;
    } else if (status.state.waiting && status.lastState.terminated) {
      stopped++;
      const code = status.lastState.terminated.exitCode;
      if (!containerShouldRestart(container, spec, code)) stoppedNotRestartable++;
    } else if (status.state.waiting) {
      waiting++;
    } else {
      unknown++;
    }
  }
  if (failedInitNotRestartable > 0) return "Failed";
  if (pendingInit > 0 || waiting > 0) return "Pending";
  if (running > 0 && unknown === 0) return "Running";
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (stopped !== stoppedNotRestartable) return "Running";
    return stopped === succeeded ? "Succeeded" : "Failed";
  }
  return "Pending";
}

/** What the conditions are computed from. */
export interface ConditionInputs {
  phase: PodPhase;
  initStatuses: readonly ContainerStatus[];
  statuses: readonly ContainerStatus[];
  /** The pod's sandbox exists (it is set up and not yet torn down). */
  sandboxReady: boolean;
  /** The sandbox was torn down after having existed. */
  sandboxGone: boolean;
}

/**
 * The conditions to report: those owned by others are kept from `pod.status`, the kubelet's
 * are computed; a transition time changes only when the condition's status does.
 */
export function podConditions(pod: Pod, inputs: ConditionInputs, now: string): PodCondition[] {
  const previous = pod.status?.conditions ?? [];
  const generation = pod.metadata.generation;
  const kept = previous.filter((condition) => !KUBELET_CONDITIONS.has(condition.type));
  const computed: Omit<PodCondition, "lastTransitionTime" | "lastProbeTime">[] = [
    inputs.sandboxReady ? { type: "PodReadyToStartContainers", status: "True" } : {
      type: "PodReadyToStartContainers",
      status: "False",
      reason: "PodSandboxNotReady",
      message: inputs.sandboxGone ? "pod sandbox is not ready" : "no pod sandbox exists",
    },
    initializedCondition(pod.spec, inputs),
    { ...containersReadyCondition(pod.spec, inputs), type: "Ready" },
    containersReadyCondition(pod.spec, inputs),
    { type: "PodScheduled", status: "True" },
  ];
  return [
    ...kept,
    ...computed.map((condition): PodCondition => {
      const old = previous.find((entry) => entry.type === condition.type);
      return {
        ...condition,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
        lastProbeTime: null,
        lastTransitionTime: old?.status === condition.status && old.lastTransitionTime
          ? old.lastTransitionTime
          : now,
      };
    }),
  ];
}

type ComputedCondition = Omit<PodCondition, "lastTransitionTime" | "lastProbeTime">;

function initializedCondition(spec: PodSpec, inputs: ConditionInputs): ComputedCondition {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const container of spec.initContainers ?? []) {
    const status = statusOf(inputs.initStatuses, container.name);
    if (!status) unknown.push(container.name);
    else if (!status.ready) incomplete.push(container.name);
  }
  if (inputs.phase === "Succeeded" && unknown.length === 0) {
    return { type: "Initialized", status: "True", reason: "PodCompleted" };
  }
  const anyStarted = spec.containers.some((container) => {
    const state = statusOf(inputs.statuses, container.name)?.state;
    return state?.running || state?.terminated;
  });
  if (anyStarted) return { type: "Initialized", status: "True" };
  const messages = [
    ...(unknown.length ? [`containers with unknown status: [${unknown.join(" ")}]`] : []),
    ...(incomplete.length ? [`containers with incomplete status: [${incomplete.join(" ")}]`] : []),
  ];
  if (messages.length) {
    return {
      type: "Initialized",
      status: "False",
      reason: "ContainersNotInitialized",
      message: messages.join(", "),
    };
  }
  return { type: "Initialized", status: "True" };
}

function containersReadyCondition(spec: PodSpec, inputs: ConditionInputs): ComputedCondition {
  const type = "ContainersReady";
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const container of spec.containers) {
    const status = statusOf(inputs.statuses, container.name);
    if (!status) unknown.push(container.name);
    else if (!status.ready) unready.push(container.name);
  }
  if (inputs.phase === "Succeeded" && unknown.length === 0) {
    return { type, status: "False", reason: "PodCompleted" };
  }
  if (inputs.phase === "Failed") return { type, status: "False", reason: "PodFailed" };
  const messages = [
    ...(unknown.length ? [`containers with unknown status: [${unknown.join(" ")}]`] : []),
    ...(unready.length ? [`containers with unready status: [${unready.join(" ")}]`] : []),
  ];
  if (messages.length) {
    return { type, status: "False", reason: "ContainersNotReady", message: messages.join(", ") };
  }
  return { type, status: "True" };
}
