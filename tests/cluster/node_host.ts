/**
 * What a real kubelet and containerd leave on the machine outside the cluster's state
 * directory, and how to take it all away again: pod cgroups, mounts, network namespaces,
 * the CNI bridge, the fixed paths they hard-code and the VM-wide sysctls the kubelet
 * rewrites. Since those paths are fixed, one local node runs on a machine at a time; a
 * machine-wide record (`MACHINE_RECORD`) says whose it is, so that `up` after a killed run
 * finds that run's state directory and the sysctls as they were before it.
 *
 * @module
 */

import { cgroupProcesses, killCgroup, MEMORY_CONTROLLER, removeCgroup } from "./cgroups.ts";
import type { ProcessRecord } from "./processes.ts";
import { BRIDGE_NAME, socketDir } from "./node_config.ts";

/** The record of the node that owns this machine's fixed paths. */
export const MACHINE_RECORD = "/run/kbk-local-node.json";

/** The sysctls the kubelet sets for itself, restored when the node stops. */
export const KUBELET_SYSCTLS = ["vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops"];

/** Paths the kubelet, containerd and the CNI plugins use whatever they are told. */
export const FIXED_PATHS = [
  "/var/log/containers",
  "/var/log/pods",
  "/var/lib/kubelet",
  "/var/lib/cni",
  "/run/containerd",
  "/run/nri",
];

const CGROUP_ROOTS = ["kubepods", "k8s.io"];

/** The content of the machine record. */
export interface MachineRecord {
  /** The state directory of the cluster whose node owns the machine. */
  stateDir: string;
  /**
   * The process whose end leaves the cluster abandoned (a test run, the demo), if any:
   * a cluster started from a shell has none and stays until `down`.
   */
  owner?: ProcessRecord;
  /** The sysctls before that node's kubelet first started. */
  sysctls: Record<string, string>;
}

/** The machine record, or undefined when no node has claimed the machine. */
export async function readMachineRecord(): Promise<MachineRecord | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(MACHINE_RECORD));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Claims the machine for the node of `stateDir`, keeping the sysctls of an earlier record
 * (from a run that was killed before it restored them): those are the machine's own.
 */
export async function claimMachine(
  stateDir: string,
  earlier: MachineRecord | undefined,
  owner: ProcessRecord | undefined,
): Promise<MachineRecord> {
  const record: MachineRecord = {
    stateDir,
    owner,
    sysctls: earlier?.sysctls ?? await readSysctls(),
  };
  await Deno.writeTextFile(`${MACHINE_RECORD}.tmp`, JSON.stringify(record, null, 2));
  await Deno.rename(`${MACHINE_RECORD}.tmp`, MACHINE_RECORD);
  return record;
}

/** The current values of `KUBELET_SYSCTLS`. */
export async function readSysctls(): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const name of KUBELET_SYSCTLS) {
    values[name] = (await Deno.readTextFile(sysctlPath(name))).trim();
  }
  return values;
}

function sysctlPath(name: string): string {
  return `/proc/sys/${name.replaceAll(".", "/")}`;
}

/**
 * Removes everything a node left outside its state directory, once its processes are
 * stopped: SIGKILLs what is left in the pod cgroups, unmounts, removes the bridge, the
 * cgroups and the fixed paths, restores the sysctls and drops the machine record.
 * `stateDir` is the node's state directory, whose mounts go too.
 */
export async function sweepMachine(
  stateDir: string,
  record: MachineRecord | undefined,
  log: (message: string) => void,
): Promise<void> {
  const left = await podProcesses();
  if (left.length > 0) log(`killing ${left.length} container processes left in the pod cgroups`);
  for (const root of CGROUP_ROOTS) {
    for (const hierarchy of [MEMORY_CONTROLLER, "/sys/fs/cgroup/pids"]) {
      await killCgroup(`${hierarchy}/${root}`);
    }
  }
  await unmountUnder([stateDir, "/run/netns/cni-", "/run/containerd", "/var/lib/kubelet"]);
  for await (const entry of readDirSafe("/run/netns")) {
    if (entry.startsWith("cni-")) await Deno.remove(`/run/netns/${entry}`).catch(() => {});
  }
  await run("ip", ["link", "del", BRIDGE_NAME]).catch(() => {});
  await removePodCgroups();
  for (const path of [...FIXED_PATHS, socketDir(stateDir)]) {
    await Deno.remove(path, { recursive: true }).catch(() => {});
  }
  if (record) {
    for (const [name, value] of Object.entries(record.sysctls)) {
      await Deno.writeTextFile(sysctlPath(name), value);
    }
  }
  await Deno.remove(MACHINE_RECORD).catch(() => {});
}

/** What a node could have left on the machine and is there now (empty when clean). */
export async function machineLeftovers(stateDir: string): Promise<string[]> {
  const left: string[] = [];
  const processes = await podProcesses();
  if (processes.length > 0) left.push(`processes in pod cgroups: ${processes.join(", ")}`);
  const mounts = await mountsUnder([stateDir, "/run/netns/cni-", "/run/containerd"]);
  if (mounts.length > 0) left.push(`mounts: ${mounts.join(", ")}`);
  for (const hierarchy of await cgroupHierarchies()) {
    for (const root of CGROUP_ROOTS) {
      if (await exists(`${hierarchy}/${root}`)) left.push(`cgroup ${hierarchy}/${root}`);
    }
  }
  if (await exists(`/sys/class/net/${BRIDGE_NAME}`)) left.push(`network device ${BRIDGE_NAME}`);
  for (const path of [...FIXED_PATHS, socketDir(stateDir)]) {
    if (await exists(path)) left.push(`path ${path}`);
  }
  if (await exists(MACHINE_RECORD)) left.push(`record ${MACHINE_RECORD}`);
  return left;
}

async function podProcesses(): Promise<number[]> {
  const pids: number[] = [];
  for (const root of CGROUP_ROOTS) {
    pids.push(...await cgroupProcesses(`${MEMORY_CONTROLLER}/${root}`));
    pids.push(...await cgroupProcesses(`/sys/fs/cgroup/pids/${root}`));
  }
  return [...new Set(pids)];
}

async function cgroupHierarchies(): Promise<string[]> {
  const found: string[] = [];
  for await (const name of readDirSafe("/sys/fs/cgroup", true)) {
    if (await exists(`/sys/fs/cgroup/${name}/cgroup.procs`)) found.push(`/sys/fs/cgroup/${name}`);
  }
  return found;
}

async function removePodCgroups(): Promise<void> {
  for (const hierarchy of await cgroupHierarchies()) {
    for (const root of CGROUP_ROOTS) await removeCgroup(`${hierarchy}/${root}`);
  }
}

/** Mount points at or under any of `prefixes`, deepest first. */
async function mountsUnder(prefixes: string[]): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  const points = text.split("\n").filter(Boolean).map((line) =>
    line.split(" ")[4].replace(/\\040/g, " ")
  );
  return points.filter((point) => prefixes.some((prefix) => point.startsWith(prefix)))
    .sort((a, b) => b.length - a.length);
}

async function unmountUnder(prefixes: string[]): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mounts = await mountsUnder(prefixes);
    if (mounts.length === 0) return;
    for (const point of mounts) await run("umount", ["-l", point]).catch(() => {});
  }
  const left = await mountsUnder(prefixes);
  if (left.length > 0) throw new Error(`cannot unmount: ${left.join(", ")}`);
}

async function* readDirSafe(path: string, directoriesOnly = false): AsyncGenerator<string> {
  try {
    for await (const entry of Deno.readDir(path)) {
      if (!directoriesOnly || entry.isDirectory) yield entry.name;
    }
  } catch {
    // Missing: nothing to list.
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}
