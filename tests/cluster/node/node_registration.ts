/**
 * The Node this agent stands for: created (or brought up to date) with its status set at
 * once — Ready, capacity and allocatable, InternalIP 127.0.0.1 and the kubelet port the API
 * server connects to for logs — and labels like a kubelet's.
 *
 * @module
 */

import { statfsSync } from "node:fs";
import { type ApiClient, isApiError } from "../api_client.ts";
import type { Node, NodeCondition } from "../kube_types.ts";
import type { NodeAgentConfig } from "./config.ts";
import { apiTime } from "./timestamps.ts";

/** The Kubernetes version the node reports (that of the control plane it is built for). */
export const KUBELET_VERSION = "v1.37.2";

/** The host's resources: cores, memory, disk, and the kubelet's default pod limit. */
export function hostCapacity(): Record<string, string> {
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  const memoryKi = /^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? "0";
  const disk = statfsSync("/");
  return {
    cpu: String(navigator.hardwareConcurrency),
    memory: `${memoryKi}Ki`,
    "ephemeral-storage": `${Math.floor((disk.blocks * disk.bsize) / 1024)}Ki`,
    pods: "110",
  };
}

/** The Node object for this agent. */
export function nodeObject(config: NodeAgentConfig, capacity: Record<string, string>): Node {
  const now = apiTime();
  const condition = (
    type: string,
    status: "True" | "False",
    reason: string,
    message: string,
  ): NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: config.nodeName,
      labels: {
        "kubernetes.io/hostname": config.nodeName,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        ...config.labels,
      },
    },
    spec: { taints: config.taints },
    status: {
      capacity,
      allocatable: capacity,
      conditions: [
        condition(
          "MemoryPressure",
          "False",
          "KubeletHasSufficientMemory",
          "kubelet has sufficient memory available",
        ),
        condition(
          "DiskPressure",
          "False",
          "KubeletHasNoDiskPressure",
          "kubelet has no disk pressure",
        ),
        condition(
          "PIDPressure",
          "False",
          "KubeletHasSufficientPID",
          "kubelet has sufficient PID available",
        ),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
      ],
      addresses: [
        { type: "InternalIP", address: "127.0.0.1" },
        { type: "Hostname", address: config.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: config.port } },
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim(),
        kernelVersion: Deno.osRelease(),
        osImage: "kbk node agent (host processes)",
        containerRuntimeVersion: "kbk://1.0.0",
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

/** Creates the Node, or replaces the metadata, spec and status of an existing one. */
export async function registerNode(client: ApiClient, node: Node): Promise<Node> {
  try {
    return await client.post<Node>("/api/v1/nodes", node);
  } catch (error) {
    if (!isApiError(error, 409)) throw error;
  }
  const path = `/api/v1/nodes/${node.metadata.name}`;
  await client.patch(path, { metadata: { labels: node.metadata.labels }, spec: node.spec });
  return await client.patch<Node>(`${path}/status`, { status: node.status });
}
