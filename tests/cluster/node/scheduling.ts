/**
 * The scheduler's filters for a one-node cluster, as pure functions: a pod either fits the
 * node or stays Pending with the message kube-scheduler would give
 * (`0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. …`).
 *
 * Filters run in kube-scheduler's order and stop at the first that fails: NodeUnschedulable,
 * TaintToleration, NodeAffinity (nodeSelector and required node affinity), NodeResourcesFit.
 *
 * @module
 */

import type {
  Container,
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Pod,
  Taint,
  Toleration,
} from "../kube_types.ts";
import { parseQuantity } from "../../../src/config/quantity.ts";

/** The outcome of scheduling a pod onto the node. */
export type ScheduleVerdict = { fits: true } | { fits: false; message: string };

const UNSCHEDULABLE_TAINT: Taint = {
  key: "node.kubernetes.io/unschedulable",
  effect: "NoSchedule",
};

/** Filters `pod` against `node`, with `podsOnNode` (non-terminal) already using resources. */
export function scheduleVerdict(pod: Pod, node: Node, podsOnNode: readonly Pod[]): ScheduleVerdict {
  const tolerations = pod.spec.tolerations ?? [];
  if (node.spec?.unschedulable && !tolerations.some((t) => tolerates(t, UNSCHEDULABLE_TAINT))) {
    return unresolvable("node(s) were unschedulable");
  }
  const untolerated = (node.spec?.taints ?? []).filter((taint) =>
    (taint.effect === "NoSchedule" || taint.effect === "NoExecute") &&
    !tolerations.some((toleration) => tolerates(toleration, taint))
  );
  if (untolerated.length > 0) return unresolvable("node(s) had untolerated taint(s)");
  if (!matchesNodeSelector(pod, node)) {
    return unresolvable("node(s) didn't match Pod's node affinity/selector");
  }
  const insufficient = insufficientResources(pod, node, podsOnNode);
  if (insufficient.length > 0) {
    return {
      fits: false,
      message: `0/1 nodes are available: ${
        insufficient.map((reason) => `1 ${reason}`).join(", ")
      }.` +
        " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    };
  }
  return { fits: true };
}

function unresolvable(reason: string): ScheduleVerdict {
  return {
    fits: false,
    message: `0/1 nodes are available: 1 ${reason}. preemption: 0/1 nodes are available: ` +
      "1 Preemption is not helpful for scheduling.",
  };
}

/** Whether a toleration tolerates a taint (core/v1 `Toleration.ToleratesTaint`). */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  switch (toleration.operator ?? "Equal") {
    case "Exists":
      return true;
    case "Equal":
      return (toleration.value ?? "") === (taint.value ?? "");
    default:
      return false;
  }
}

/** Whether the node satisfies the pod's nodeSelector and required node affinity. */
export function matchesNodeSelector(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (labels[key] !== value) return false;
  }
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return required.nodeSelectorTerms.some((term) => matchesTerm(term, node));
}

function matchesTerm(term: NodeSelectorTerm, node: Node): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return expressions.every((requirement) => matchesRequirement(requirement, labels)) &&
    fields.every((requirement) =>
      requirement.key === "metadata.name" &&
      matchesRequirement(requirement, { "metadata.name": node.metadata.name ?? "" })
    );
}

function matchesRequirement(
  requirement: NodeSelectorRequirement,
  labels: Record<string, string>,
): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const value = labels[requirement.key];
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case "In":
      return has && values.includes(value);
    case "NotIn":
      return !has || !values.includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      if (!has || values.length !== 1) return false;
      const [left, right] = [Number.parseInt(value, 10), Number.parseInt(values[0], 10)];
      if (Number.isNaN(left) || Number.isNaN(right)) return false;
      return requirement.operator === "Gt" ? left > right : left < right;
    }
  }
  return false;
}

/** A pod's effective requests: the larger of its containers' sum and any init container. */
export function podRequests(pod: Pod): Record<string, number> {
  const total: Record<string, number> = {};
  for (const container of pod.spec.containers) {
    for (const [name, value] of Object.entries(containerRequests(container))) {
      total[name] = (total[name] ?? 0) + value;
    }
  }
  for (const container of pod.spec.initContainers ?? []) {
    for (const [name, value] of Object.entries(containerRequests(container))) {
      total[name] = Math.max(total[name] ?? 0, value);
    }
  }
  return total;
}

function containerRequests(container: Container): Record<string, number> {
  // The API server defaults requests to limits when only limits are set.
  const quantities = { ...container.resources?.limits, ...container.resources?.requests };
  return Object.fromEntries(
    Object.entries(quantities).map(([name, value]) => [name, parseQuantity(value)]),
  );
}

function insufficientResources(pod: Pod, node: Node, podsOnNode: readonly Pod[]): string[] {
  const allocatable = node.status?.allocatable ?? {};
  const reasons: string[] = [];
  if (allocatable.pods && podsOnNode.length + 1 > parseQuantity(allocatable.pods)) {
    reasons.push("Too many pods");
  }
  const used: Record<string, number> = {};
  for (const other of podsOnNode) {
    for (const [name, value] of Object.entries(podRequests(other))) {
      used[name] = (used[name] ?? 0) + value;
    }
  }
  for (const [name, value] of Object.entries(podRequests(pod))) {
    if (value === 0) continue;
    const available = allocatable[name] === undefined ? 0 : parseQuantity(allocatable[name]);
    if (value > available - (used[name] ?? 0)) {
      reasons.push(`Insufficient ${name}`);
    }
  }
  return reasons.sort();
}
