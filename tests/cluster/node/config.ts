/**
 * The node agent's configuration file, written by the control plane manager
 * (`node-agent.json` in the state directory) and read by the node agent at startup.
 *
 * @module
 */

import { z } from "zod";

/** The schema of `node-agent.json`. */
export const NodeAgentConfigSchema = z.object({
  /** The Node object's name (also its `kubernetes.io/hostname` label). */
  nodeName: z.string(),
  /** Admin kubeconfig the agent talks to the API server with. */
  kubeconfig: z.string(),
  /** Port of the HTTPS endpoint serving container logs (the kubelet port). */
  port: z.number().int(),
  /** Directory for pods' volumes, containers' root overlays and logs. */
  stateDir: z.string(),
  /** The cgroup (memory controller) under which each container gets its own cgroup. */
  cgroup: z.string(),
  /** The image catalogue file (see `image_catalogue.ts`). */
  imageCatalogue: z.string(),
  /** The API server's loopback port, given to containers as `KUBERNETES_SERVICE_PORT`. */
  apiServerPort: z.number().int(),
  /** Extra node labels. */
  labels: z.record(z.string(), z.string()).default({}),
  /** Node taints; pods must tolerate them to be scheduled. */
  taints: z.array(z.object({
    key: z.string(),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  })).default([]),
  /** Capacity (and allocatable) to advertise; defaults to the host's. */
  capacity: z.record(z.string(), z.string()).optional(),
});

/** A parsed node agent configuration. */
export type NodeAgentConfig = z.infer<typeof NodeAgentConfigSchema>;

/** Reads and validates the configuration file. */
export async function readNodeAgentConfig(path: string): Promise<NodeAgentConfig> {
  const parsed = NodeAgentConfigSchema.safeParse(JSON.parse(await Deno.readTextFile(path)));
  if (!parsed.success) {
    throw new Error(`node agent config ${path} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
