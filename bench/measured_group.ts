/**
 * A pair of cgroup v1 groups (cpuacct and memory, same relative path) that a hook and every
 * process it starts (kubectl, jq, jsonnet, deno…) run in, so the whole process tree's CPU
 * time (`cpuacct.usage`) and peak memory (`memory.max_usage_in_bytes`) can be read after it
 * exits. Groups nest: a parent's figures include its children's (hierarchical accounting).
 *
 * @module
 */

import {
  cgroupProcesses,
  createCgroup,
  killCgroup,
  MEMORY_CONTROLLER,
  removeCgroup,
} from "../tests/cluster/cgroups.ts";

/** Where the cgroup v1 cpuacct controller is mounted. */
export const CPUACCT_CONTROLLER = "/sys/fs/cgroup/cpuacct";

/** What a group's processes used. */
export interface Usage {
  /** CPU time of every process that ran in the group, user and system, in seconds. */
  cpuSeconds: number;
  /** The group's peak memory charge (anonymous memory and page cache it brought in), bytes. */
  peakBytes: number;
}

// The shell joins both groups before it execs the command, so the command and everything
// it forks are accounted from their first instruction. Output goes to one stream, as the
// agent writes a hook's stdout and stderr to the same job log.
const JOIN_AND_EXEC =
  'echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@" 2>&1';

/** A measured group at `relativePath` under both controllers. */
export class MeasuredGroup {
  /** The path below each controller's mount point. */
  readonly relativePath: string;

  /** A handle; `create()` makes the groups. */
  constructor(relativePath: string) {
    this.relativePath = relativePath;
  }

  /** The cpuacct group's directory. */
  get cpuPath(): string {
    return `${CPUACCT_CONTROLLER}/${this.relativePath}`;
  }

  /** The memory group's directory. */
  get memoryPath(): string {
    return `${MEMORY_CONTROLLER}/${this.relativePath}`;
  }

  /** Creates both groups (and their parents). */
  async create(): Promise<this> {
    await createCgroup(this.cpuPath);
    await createCgroup(this.memoryPath);
    return this;
  }

  /** A child group. */
  child(name: string): MeasuredGroup {
    return new MeasuredGroup(`${this.relativePath}/${name}`);
  }

  /** The argv that runs `argv` inside both groups, stderr joined to stdout. */
  wrap(argv: string[]): string[] {
    return ["/bin/sh", "-c", JOIN_AND_EXEC, "bench-hook", this.cpuPath, this.memoryPath, ...argv];
  }

  /** The group's CPU time and peak memory so far. */
  async usage(): Promise<Usage> {
    const cpu = await Deno.readTextFile(`${this.cpuPath}/cpuacct.usage`);
    const peak = await Deno.readTextFile(`${this.memoryPath}/memory.max_usage_in_bytes`);
    return { cpuSeconds: Number(cpu.trim()) / 1e9, peakBytes: Number(peak.trim()) };
  }

  /** Processes still in the group or its children. */
  async processes(): Promise<number[]> {
    return await cgroupProcesses(this.memoryPath);
  }

  /** SIGKILLs every process in the group and its children. */
  async kill(): Promise<void> {
    await killCgroup(this.memoryPath);
  }

  /** Kills what is left and removes both groups. */
  async remove(): Promise<void> {
    await this.kill();
    await removeCgroup(this.memoryPath);
    await removeCgroup(this.cpuPath);
  }
}
