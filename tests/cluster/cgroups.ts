/**
 * cgroup v1 memory cgroups: one tree per cluster, so that every process the cluster started
 * (the control plane, containerd and its shims, the registry, the kubelet, and all their
 * descendants) can be found and killed from any shell.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Where the cgroup v1 memory controller is mounted. */
export const MEMORY_CONTROLLER = "/sys/fs/cgroup/memory";

/** The cgroup tree of the cluster whose state lives in `stateDir` (an absolute path). */
export function clusterCgroup(stateDir: string): string {
  const id = createHash("sha256").update(stateDir).digest("hex").slice(0, 12);
  return `${MEMORY_CONTROLLER}/kbk-${id}`;
}

/** Creates a cgroup (and its parents). */
export async function createCgroup(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true });
}

/** Every process in the cgroup and its descendants. */
export async function cgroupProcesses(path: string): Promise<number[]> {
  const pids: number[] = [];
  let text: string;
  try {
    text = await Deno.readTextFile(`${path}/cgroup.procs`);
  } catch {
    return pids;
  }
  for (const line of text.split("\n")) if (line) pids.push(Number(line));
  for (const child of await childCgroups(path)) pids.push(...(await cgroupProcesses(child)));
  return pids;
}

async function childCgroups(path: string): Promise<string[]> {
  const children: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isDirectory) children.push(`${path}/${entry.name}`);
    }
  } catch {
    // The cgroup is gone already.
  }
  return children;
}

/**
 * SIGKILLs everything in the cgroup tree until it is empty. A process may fork while it is
 * being killed, so the tree is read again until nothing is left.
 */
export async function killCgroup(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await cgroupProcesses(path);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`processes ${pids.join(", ")} in ${path} survived SIGKILL`);
    }
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Exited in the meantime.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Removes an empty cgroup tree, children first. Missing cgroups are fine. */
export async function removeCgroup(path: string): Promise<void> {
  for (const child of await childCgroups(path)) await removeCgroup(child);
  // A killed process can take a moment to leave the cgroup after it is reaped.
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.remove(path);
      return;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
