/**
 * Long-lived processes that outlive the shell that started them: each runs in its own
 * session (so its process group can be signalled as a whole), inside a cgroup (so every
 * descendant can be found again from any shell), with output appended to a log file.
 *
 * @module
 */

/** What is needed to find a started process again and to prove it is still the same one. */
export interface ProcessRecord {
  /** Process id; also its process group id, since it leads its own session. */
  pid: number;
  /** Start time in clock ticks since boot (`/proc/PID/stat` field 22): guards against pid reuse. */
  startTime: number;
}

/** How to start a daemon. */
export interface DaemonOptions {
  args: string[];
  /** Output (stdout and stderr) is appended here. */
  logFile: string;
  /** A cgroup directory (with a `cgroup.procs` file) the process joins before it runs. */
  cgroup: string;
  env?: Record<string, string>;
  cwd?: string;
}

// The shell joins the cgroup and redirects output itself so the daemon keeps both after the
// starting process has exited; `exec` keeps the pid, so the record names the daemon itself.
const DAEMON_SHELL = 'echo $$ > "$1/cgroup.procs" && log=$2 && shift 2 && exec "$@" >>"$log" 2>&1';

/** Starts `command` as a daemon in a new session and returns its record. */
export async function spawnDaemon(command: string, options: DaemonOptions): Promise<ProcessRecord> {
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      DAEMON_SHELL,
      "kbk-daemon",
      options.cgroup,
      options.logFile,
      command,
      ...options.args,
    ],
    env: options.env,
    cwd: options.cwd,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  // Reaped here while this process lives, so a daemon that dies early is not a zombie.
  child.status.catch(() => {});
  const startTime = await readStartTime(child.pid);
  if (startTime === undefined || !(await joined(child.pid, options.cgroup))) {
    throw new Error(`${command} exited at once; see ${options.logFile}`);
  }
  return { pid: child.pid, startTime };
}

// The shell joins the cgroup a moment after the spawn; `down` relies on it, so wait for it.
async function joined(pid: number, cgroup: string): Promise<boolean> {
  const relative = cgroup.slice(cgroup.indexOf("/", "/sys/fs/cgroup/".length));
  for (let attempt = 0; attempt < 500; attempt++) {
    let text: string;
    try {
      text = await Deno.readTextFile(`/proc/${pid}/cgroup`);
    } catch {
      return false;
    }
    if (/^\d+:memory:(.*)$/m.exec(text)?.[1] === relative) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/** The start time of a process, or undefined when it does not exist (or is a zombie). */
export async function readStartTime(pid: number): Promise<number | undefined> {
  const stat = await readStat(pid);
  return stat && stat.state !== "Z" ? stat.startTime : undefined;
}

/** Whether the recorded process is still alive (and is not a recycled pid). */
export async function isAlive(record: ProcessRecord): Promise<boolean> {
  return (await readStartTime(record.pid)) === record.startTime;
}

interface Stat {
  state: string;
  pgid: number;
  startTime: number;
}

async function readStat(pid: number): Promise<Stat | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  return parseStat(text);
}

/**
 * Parses `/proc/PID/stat`. The command name (field 2) may hold spaces and parentheses, so
 * fields are counted from the last `)`.
 */
export function parseStat(text: string): Stat {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3].
  return { state: rest[0], pgid: Number(rest[2]), startTime: Number(rest[19]) };
}

/**
 * Stops a daemon's whole process group: SIGTERM, up to `graceMs` to exit, then SIGKILL.
 * Resolves once no process of the group is left.
 */
export async function stopProcessGroup(record: ProcessRecord, graceMs: number): Promise<void> {
  if (!(await isAlive(record))) {
    await killGroupRemnants(record.pid);
    return;
  }
  signalGroup(record.pid, "SIGTERM");
  if (await waitForGroupExit(record.pid, graceMs)) return;
  signalGroup(record.pid, "SIGKILL");
  if (!(await waitForGroupExit(record.pid, 5_000))) {
    throw new Error(`process group ${record.pid} survived SIGKILL`);
  }
}

async function killGroupRemnants(pgid: number): Promise<void> {
  if ((await groupMembers(pgid)).length === 0) return;
  signalGroup(pgid, "SIGKILL");
  await waitForGroupExit(pgid, 5_000);
}

function signalGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

// A process that is not our child cannot be awaited, so its exit is observed through /proc.
async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await groupMembers(pgid)).length === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return (await groupMembers(pgid)).length === 0;
}

/** The live (non-zombie) processes whose process group is `pgid`. */
export async function groupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await readStat(Number(entry.name));
    if (stat && stat.pgid === pgid && stat.state !== "Z") members.push(Number(entry.name));
  }
  return members;
}

/**
 * Live processes started from `dir`: their command line mentions it, or their working
 * directory or root directory lies in it. The calling process and its ancestors (a shell
 * that was started in `dir` or with `dir` in its arguments) do not count.
 */
export async function processesUsing(dir: string): Promise<number[]> {
  const exempt = await ancestors(Deno.pid);
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    const pid = Number(entry.name);
    if (!/^\d+$/.test(entry.name) || exempt.has(pid)) continue;
    try {
      const stat = await readStat(pid);
      if (!stat || stat.state === "Z") continue;
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
      const places = await Promise.all(
        ["cwd", "root"].map((link) => Deno.readLink(`/proc/${pid}/${link}`).catch(() => "")),
      );
      const inside = (path: string) => path === dir || path.startsWith(`${dir}/`);
      // `/x/cluster` must not match an argument about `/x/cluster2`.
      const mentions = cmdline.split("\0").some((arg) =>
        arg === dir || arg.endsWith(`=${dir}`) || arg.includes(`${dir}/`)
      );
      if (mentions || places.some(inside)) found.push(pid);
    } catch {
      // The process exited while it was being looked at.
    }
  }
  return found;
}

async function ancestors(pid: number): Promise<Set<number>> {
  const chain = new Set<number>();
  for (let current = pid; current > 0 && !chain.has(current);) {
    chain.add(current);
    try {
      const text = await Deno.readTextFile(`/proc/${current}/stat`);
      current = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return chain;
}

/**
 * The live (non-zombie) processes of this machine whose command line holds `marker`: how
 * a test finds a container's processes, which are this machine's too.
 */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (cmdline.includes(marker) && parseStat(stat).state !== "Z") found.push(Number(entry.name));
    } catch {
      // The process exited while it was being looked at.
    }
  }
  return found;
}
