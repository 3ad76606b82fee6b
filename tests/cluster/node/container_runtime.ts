/**
 * Runs a container as a host process: `unshare` gives it private mount and UTS namespaces,
 * `container_launcher.sh` joins its memory cgroup, builds its root (an overlay of the host
 * with /proc, /dev, /sys, the image's files and the volumes mounted in) and execs the
 * command in it. The process leads its own process group, so stopping it signals the group;
 * whatever is left in its cgroup when the main process exits is killed, as a runtime would.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  createCgroup,
  killCgroup,
  oomKillCount,
  removeCgroup,
  setMemoryLimit,
} from "../cgroups.ts";
import type { ContainerLog } from "./container_log.ts";
import { resolveInRoot } from "./root_paths.ts";
import type { BindMount } from "./volumes.ts";

const LAUNCHER = fileURLToPath(new URL("./container_launcher.sh", import.meta.url));
const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Everything needed to start one container. */
export interface ContainerSpec {
  /** Directory for the container's overlay layer and launch files (created here). */
  dir: string;
  argv: string[];
  env: ReadonlyMap<string, string>;
  workingDir: string;
  hostname: string;
  mounts: BindMount[];
  /** The container's own cgroup (created here, removed after it exits). */
  cgroup: string;
  memoryLimitBytes?: number;
  log: ContainerLog;
}

/** How a container ended. */
export interface ExitStatus {
  exitCode: number;
  /** The signal that killed the main process, if any. */
  signal?: number;
  /** The kernel OOM-killed a process of the container. */
  oomKilled: boolean;
  finishedAt: Date;
}

/** The result of starting: a running container, or the runtime's reason it could not start. */
export type StartResult =
  | { started: true; container: RunningContainer }
  | { started: false; message: string; finishedAt: Date };

// Linux signal numbers, for exit codes 128 + n.
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
}; // deno-fmt-ignore

/** A started container. */
export class RunningContainer {
  /** The main process (and process group) id. */
  readonly pid: number;
  readonly startedAt: Date;
  /** Resolves when the container has exited and its output has been logged. */
  readonly exited: Promise<ExitStatus>;
  #cgroup: string;

  /** Wraps a started process; `exited` settles once it ended and was cleaned up. */
  constructor(pid: number, startedAt: Date, cgroup: string, exited: Promise<ExitStatus>) {
    this.pid = pid;
    this.startedAt = startedAt;
    this.#cgroup = cgroup;
    this.exited = exited;
  }

  /**
   * Stops the container: SIGTERM to its process group, then after `graceMs` SIGKILL to
   * everything in its cgroup. Resolves with its exit status.
   */
  async stop(graceMs: number): Promise<ExitStatus> {
    try {
      Deno.kill(-this.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), graceMs));
    const outcome = await Promise.race([this.exited, grace]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      await killCgroup(this.#cgroup).catch(() => {});
    }
    return await this.exited;
  }
}

/** Starts a container; resolves once it runs its command (or failed to). */
export async function startContainer(spec: ContainerSpec): Promise<StartResult> {
  let workingDir: string;
  try {
    workingDir = await prepareLaunch(spec);
  } catch (error) {
    // What the runtime would report when it cannot create the container (a missing mount
    // source, a symlink loop).
    return notStarted(`failed to create container: ${(error as Error).message}`);
  }
  return await launch(spec, workingDir);
}

// Writes the launch files and creates the cgroup; returns the resolved working directory.
async function prepareLaunch(spec: ContainerSpec): Promise<string> {
  for (const layer of ["rootfs", "upper", "work"]) {
    await Deno.mkdir(`${spec.dir}/${layer}`, { recursive: true });
  }
  const lines: string[] = [];
  for (const mount of spec.mounts) {
    if (/[\t\n]/.test(mount.source + mount.target)) {
      throw new Error(`mount paths may not contain tabs or newlines: ${mount.target}`);
    }
    const info = await Deno.stat(mount.source).catch(() => {
      throw new Error(
        `mount source ${mount.source} (for ${mount.target}): no such file or directory`,
      );
    });
    const target = await resolveInRoot("/", mount.target);
    lines.push(
      [mount.readOnly ? "ro" : "rw", mount.source, target, info.isDirectory ? "dir" : "file"].join(
        "\t",
      ),
    );
  }
  await Deno.writeTextFile(`${spec.dir}/mounts`, lines.map((line) => `${line}\n`).join(""));
  await Deno.remove(`${spec.dir}/start-error`).catch(() => {});
  await createCgroup(spec.cgroup);
  if (spec.memoryLimitBytes !== undefined) await setMemoryLimit(spec.cgroup, spec.memoryLimitBytes);
  return await resolveInRoot("/", spec.workingDir || "/");
}

async function launch(spec: ContainerSpec, workingDir: string): Promise<StartResult> {
  const nonce = `kbk-started-${crypto.randomUUID()}`;
  const child = new Deno.Command(hostTool("unshare"), {
    args: [
      "--mount",
      "--uts",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      LAUNCHER,
      spec.dir,
      nonce,
      spec.cgroup,
      spec.hostname,
      workingDir,
      "--",
      ...spec.argv,
    ],
    env: Object.fromEntries(spec.env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn(); // deno-fmt-ignore
  const stdout = child.stdout.getReader();
  const handshake = await readHandshake(stdout, nonce);
  if (!handshake.ok) {
    const stderr = await new Response(child.stderr).text();
    await child.status;
    const finishedAt = new Date();
    await killCgroup(spec.cgroup).catch(() => {});
    await removeCgroup(spec.cgroup).catch(() => {});
    const reason = await Deno.readTextFile(`${spec.dir}/start-error`).catch(() => stderr);
    return notStarted(
      reason.trim() || "the container process exited before it started",
      finishedAt,
    );
  }
  const startedAt = new Date();
  const output = Promise.all([
    spec.log.pump(prepend(handshake.rest, stdout), "stdout"),
    spec.log.pump(child.stderr, "stderr"),
  ]);
  const exited = (async (): Promise<ExitStatus> => {
    const status = await child.status;
    const finishedAt = new Date();
    const oomKilled = (await oomKillCount(spec.cgroup)) > 0;
    // The main process is gone; like a runtime, take everything it left behind with it.
    await killCgroup(spec.cgroup).catch(() => {});
    await output.catch(() => {});
    await removeCgroup(spec.cgroup).catch(() => {});
    const signal = status.signal ? SIGNALS[status.signal] : undefined;
    return {
      exitCode: signal ? 128 + signal : status.code,
      signal,
      oomKilled,
      finishedAt,
    };
  })();
  return {
    started: true,
    container: new RunningContainer(child.pid, startedAt, spec.cgroup, exited),
  };
}

function notStarted(message: string, finishedAt = new Date()): StartResult {
  return { started: false, message, finishedAt };
}

type Handshake = { ok: true; rest: Uint8Array } | { ok: false };

// The launcher prints the nonce just before it execs the command; everything after it is
// the container's own output.
async function readHandshake(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  nonce: string,
): Promise<Handshake> {
  const expected = new TextEncoder().encode(`${nonce}\n`);
  let buffer = new Uint8Array(0);
  while (buffer.length < expected.length) {
    const { value, done } = await reader.read();
    if (done) return { ok: false };
    const next = new Uint8Array(buffer.length + value.length);
    next.set(buffer);
    next.set(value, buffer.length);
    buffer = next;
  }
  for (let index = 0; index < expected.length; index++) {
    if (buffer[index] !== expected[index]) return { ok: false };
  }
  return { ok: true, rest: buffer.slice(expected.length) };
}

function prepend(
  first: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let sentFirst = first.length === 0;
  return new ReadableStream({
    async pull(controller) {
      if (!sentFirst) {
        sentFirst = true;
        controller.enqueue(first);
        return;
      }
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** The absolute path of a host tool (the node agent's own PATH may be anything). */
export function hostTool(name: string): string {
  for (const dir of HOST_PATH.split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(`${name} not found in ${HOST_PATH}`);
}
