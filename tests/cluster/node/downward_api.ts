/**
 * Values of the downward API (`fieldRef`, `resourceFieldRef`) as the kubelet computes them
 * for env vars and downward API volume files.
 *
 * @module
 */

import type { Container, Pod } from "../kube_types.ts";
import { parseQuantity } from "../../../src/config/quantity.ts";

/** The addresses a pod has on this node. */
export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** The value of a `fieldRef`; throws the kubelet's message for an unsupported path. */
export function fieldPathValue(pod: Pod, fieldPath: string, addresses: PodAddresses): string {
  const subscript = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[subscript[2]] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "metadata.labels":
      return formatMap(pod.metadata.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata.annotations);
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.podIP":
    case "status.podIPs":
      return addresses.podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return addresses.hostIP;
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

// The kubelet writes maps as sorted `key="value"` lines with Go-quoted values.
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((key) => `${key}=${JSON.stringify(map![key])}`)
    .join("\n");
}

/**
 * The value of a `resourceFieldRef` (`limits.memory`, `requests.cpu` …), rounded up in units
 * of `divisor`; a missing limit falls back to the node's allocatable, as on a real node.
 */
export function resourceFieldValue(
  container: Container,
  resource: string,
  divisor: string | undefined,
  allocatable: Record<string, string>,
): string {
  const [kind, name] = resource.split(".");
  if (
    (kind !== "limits" && kind !== "requests") || !["cpu", "memory", "ephemeral-storage"]
      .includes(name)
  ) {
    throw new Error(`unsupported container resource : ${resource}`);
  }
  const quantity = container.resources?.[kind]?.[name] ??
    (kind === "requests" ? container.resources?.limits?.[name] : undefined) ??
    (kind === "limits" ? allocatable[name] : "0");
  const value = parseQuantity(quantity) / parseQuantity(divisor ?? "1");
  return String(Math.ceil(value - 1e-9));
}
