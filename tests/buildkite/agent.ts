/**
 * The real `buildkite-agent start`, run against the agent API stand-in: it registers, takes
 * one job, runs it on this machine (bootstrap, plugins, hooks) and exits. Everything it writes
 * (builds, plugin clones, sockets) stays in one temporary directory.
 *
 * @module
 */

import { parseBinaryPaths, REPOSITORY_ROOT } from "../cluster/binaries.ts";
import type { AgentApi } from "./agent_api.ts";

/** How to run the agent. */
export interface AgentOptions {
  /** `--name` (default `local-agent`); the build directory is named after it. */
  name?: string;
  /**
   * Added to the agent's environment, which every hook inherits, e.g. KUBECONFIG. The agent
   * otherwise gets only PATH (its own directory first) and HOME, nothing of this process's
   * BUILDKITE_* variables.
   */
  env?: Record<string, string>;
  /** Agent hooks by name (`environment`, `post-command`…): scripts written to `--hooks-path`. */
  hooks?: Record<string, string>;
  /** `--cancel-grace-period` in seconds (default 10, as the agent's own default). */
  cancelGracePeriodSeconds?: number;
  /** More flags for `buildkite-agent start`. */
  args?: string[];
  /** Called with each piece of the agent's own output (not the job log) as it arrives. */
  onOutput?: (text: string) => void;
}

/** The directories the agent works in, all inside one temporary directory. */
export interface AgentPaths {
  root: string;
  builds: string;
  plugins: string;
  hooks: string;
  sockets: string;
}

/**
 * Where `scripts/build-binaries` keeps `buildkite-agent`. Throws, naming the command that
 * builds it, when it has not been built.
 */
export async function buildkiteAgentBinary(): Promise<string> {
  const script = `${REPOSITORY_ROOT}/scripts/build-binaries`;
  const { success, stdout } = await new Deno.Command(script, {
    args: ["--only", "buildkite-agent", "--paths"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const path = parseBinaryPaths(new TextDecoder().decode(stdout)).buildkiteAgent;
  if (!success || !path) {
    throw new Error(
      `buildkite-agent is not built${path ? ` (expected at ${path})` : ""}; ` +
        `build it with ${script} --only buildkite-agent`,
    );
  }
  return path;
}

/** A running `buildkite-agent start`. Dispose of it to stop it and remove its directory. */
export class LocalAgent implements AsyncDisposable {
  /** The agent's pid; it leads its own session, where its jobs run too (without a pty). */
  readonly pid: number;
  /** Where it works. */
  readonly paths: AgentPaths;
  /** Resolves when the agent has exited (after one job, with `--disconnect-after-job`). */
  readonly status: Promise<Deno.CommandStatus>;

  #child: Deno.ChildProcess;
  #output = "";
  #reading: Promise<void>;
  #cancelGraceMs: number;

  constructor(child: Deno.ChildProcess, paths: AgentPaths, options: AgentOptions) {
    this.#child = child;
    this.pid = child.pid;
    this.paths = paths;
    this.status = child.status;
    this.#cancelGraceMs = (options.cancelGracePeriodSeconds ?? 10) * 1000;
    const read = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const piece of stream) {
        const text = decoder.decode(piece, { stream: true });
        this.#output += text;
        options.onOutput?.(text);
      }
    };
    this.#reading = Promise.all([read(child.stdout), read(child.stderr)]).then(() => {});
  }

  /** Everything the agent printed so far (its own log, not the job's). */
  output(): string {
    return this.#output;
  }

  /**
   * Stops the agent as an operator would: SIGQUIT, on which it cancels its job within the
   * cancel grace period and disconnects; then SIGKILL for whatever of it is still alive.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const exited = this.status.then(() => true);
    if (!(await settlesWithin(exited, 0))) {
      this.#child.kill("SIGQUIT");
      if (!(await settlesWithin(exited, this.#cancelGraceMs + 3_000))) {
        killAll(await descendants(this.pid));
        this.#child.kill("SIGKILL");
      }
    }
    await this.status;
    // A job process the agent did not wait for is orphaned but stays in the agent's session.
    killAll(await sessionMembers(this.pid));
    await this.#reading;
    await Deno.remove(this.paths.root, { recursive: true });
  }
}

/**
 * Starts `buildkite-agent start` against the stand-in: it polls for work (no streaming), runs
 * one job without a pty (LF line endings, no timestamp escapes) and exits.
 */
export async function startAgent(api: AgentApi, options: AgentOptions = {}): Promise<LocalAgent> {
  const binary = await buildkiteAgentBinary();
  const root = await Deno.makeTempDir({ prefix: "buildkite-agent-" });
  const paths: AgentPaths = {
    root,
    builds: `${root}/builds`,
    plugins: `${root}/plugins`,
    hooks: `${root}/hooks`,
    sockets: `${root}/sockets`,
  };
  for (const dir of [paths.builds, paths.plugins, paths.hooks, paths.sockets]) {
    await Deno.mkdir(dir);
  }
  for (const [name, script] of Object.entries(options.hooks ?? {})) {
    await Deno.writeTextFile(`${paths.hooks}/${name}`, script, { mode: 0o755 });
  }
  // An empty config file, so no buildkite-agent.cfg of this machine changes the run.
  const config = `${root}/buildkite-agent.cfg`;
  await Deno.writeTextFile(config, "");
  const binDir = binary.slice(0, binary.lastIndexOf("/"));
  // deno-fmt-ignore
  const args = [
    "start",
    "--config", config,
    "--endpoint", api.endpoint,
    "--token", api.registrationToken,
    "--name", options.name ?? "local-agent",
    "--ping-mode", "poll-only",
    "--disconnect-after-job",
    "--build-path", paths.builds,
    "--plugins-path", paths.plugins,
    "--hooks-path", paths.hooks,
    "--sockets-path", paths.sockets,
    "--cancel-grace-period", String(options.cancelGracePeriodSeconds ?? 10),
    "--no-pty",
    "--no-ssh-keyscan",
    "--no-color",
    ...(options.args ?? []),
  ];
  const child = new Deno.Command(binary, {
    args,
    clearEnv: true,
    env: {
      PATH: `${binDir}:/usr/local/bin:/usr/bin:/bin`,
      HOME: Deno.env.get("HOME") ?? "/root",
      ...options.env,
    },
    cwd: root,
    // Its own session: the agent and its job processes can be found and stopped as a whole.
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new LocalAgent(child, paths, options);
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

interface ProcessStat {
  pid: number;
  ppid: number;
  session: number;
}

/** Every live process, from `/proc/PID/stat` (fields counted after the command's `)`). */
async function processes(): Promise<ProcessStat[]> {
  const found: ProcessStat[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(`/proc/${entry.name}/stat`);
    } catch {
      continue;
    }
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z") continue;
    found.push({ pid: Number(entry.name), ppid: Number(rest[1]), session: Number(rest[3]) });
  }
  return found;
}

async function descendants(pid: number): Promise<number[]> {
  const all = await processes();
  const found: number[] = [];
  for (let parents = [pid]; parents.length > 0;) {
    parents = all.filter((p) => parents.includes(p.ppid)).map((p) => p.pid);
    found.push(...parents);
  }
  return found;
}

async function sessionMembers(session: number): Promise<number[]> {
  return (await processes()).filter((p) => p.session === session).map((p) => p.pid);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
