/**
 * A Buildkite job that uses this plugin, run as on Buildkite: the real `buildkite-agent start`
 * takes it from the agent API stand-in, clones this plugin from a local git repository, runs
 * its hooks (the command hook turns the step into a Kubernetes Job on the cluster in
 * `kubeconfig`), uploads the log and reports how the job finished. Used by `deno task demo`
 * and the end-to-end tests.
 *
 * @module
 */

import { REPOSITORY_ROOT } from "../cluster/binaries.ts";
import { type AgentApi, type FinishPayload, type JobOptions, serveAgentApi } from "./agent_api.ts";
import { type LocalAgent, startAgent } from "./agent.ts";

async function run(command: string, args: string[], cwd: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    env: {
      GIT_AUTHOR_NAME: "demo",
      GIT_AUTHOR_EMAIL: "demo@localhost",
      GIT_COMMITTER_NAME: "demo",
      GIT_COMMITTER_EMAIL: "demo@localhost",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (code !== 0) throw new Error(`${command} ${args.join(" ")}: ${decoder.decode(stderr)}`);
  return decoder.decode(stdout);
}

/**
 * This checkout's plugin files (tracked, and new ones not ignored) committed to a fresh git
 * repository named like the published one, so the agent names the plugin `kubernetes`.
 */
export async function pluginRepository(parent: string): Promise<{ source: string; sha: string }> {
  const dir = `${parent}/kubernetes-buildkite-plugin`;
  await Deno.mkdir(dir, { recursive: true });
  const files = (await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], REPOSITORY_ROOT))
    .split("\0").filter(Boolean);
  for (const file of files) {
    const target = `${dir}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    try {
      await Deno.copyFile(`${REPOSITORY_ROOT}/${file}`, target);
      await Deno.chmod(target, (await Deno.stat(`${REPOSITORY_ROOT}/${file}`)).mode! & 0o777);
    } catch (error) {
      // A file deleted in the working tree but still tracked is simply not part of the plugin.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  await run("git", ["init", "-q", "-b", "main"], dir);
  await run("git", ["add", "-A"], dir);
  await run("git", ["commit", "-q", "-m", "plugin"], dir);
  return { source: `file://${dir}`, sha: (await run("git", ["rev-parse", "HEAD"], dir)).trim() };
}

/** A small git repository for the step to check out. */
export async function sampleRepository(parent: string): Promise<string> {
  const dir = `${parent}/repository`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/README.md`,
    "# A repository checked out inside a Kubernetes pod\n",
  );
  await run("git", ["init", "-q", "-b", "main"], dir);
  await run("git", ["add", "-A"], dir);
  await run("git", ["commit", "-q", "-m", "A commit to check out"], dir);
  return dir;
}

/**
 * The program the hooks run: production's is the compiled one in the agent image; here,
 * this checkout's source, with exactly the permissions `deno task compile` gives. Each start
 * is recorded, by its subcommand, in `program-runs` beside it.
 */
async function programShim(dir: string): Promise<string> {
  const denoJson = JSON.parse(await Deno.readTextFile(`${REPOSITORY_ROOT}/deno.json`));
  const permissions = (denoJson.tasks.compile as string).split(/\s+/)
    .filter((word) => word.startsWith("--allow-"));
  const program = `${dir}/kubernetes-buildkite-plugin-program`;
  await Deno.writeTextFile(
    program,
    `#!/bin/sh\necho "$1" >>"${dir}/program-runs"\n` +
      `exec "${Deno.execPath()}" run --quiet ${permissions.join(" ")} ` +
      `"${REPOSITORY_ROOT}/src/main.ts" "$@"\n`,
    { mode: 0o755 },
  );
  return program;
}

/** A job to run. */
export interface PluginJobOptions {
  /** The kubeconfig the plugin's hooks use (the agent's environment). */
  kubeconfig: string;
  /** This plugin's configuration in the step. */
  plugin: Record<string, unknown>;
  /** The step's `command`. */
  command: string;
  /** BUILDKITE_REPO: what the pod checks out (unless `init-image` is empty). */
  repository: string;
  /** Other plugins of the step, before this one: `{"source#ref": config}` entries. */
  otherPlugins?: unknown[];
  /** The step's `timeout_in_minutes`. */
  timeoutInMinutes?: number;
  /** The step's `artifact_paths`. */
  artifactPaths?: string;
  /** More job variables (the step's `env`). */
  env?: Record<string, string>;
  /** Agent hooks by name, e.g. an `environment` hook. */
  agentHooks?: Record<string, string>;
  /** The agent's `--cancel-grace-period` (default 10 s, the agent's own). */
  cancelGracePeriodSeconds?: number;
  /** How long one minute of `timeoutInMinutes` lasts (default 60 000 ms). */
  minuteMs?: number;
}

/** A job under way: the stand-in, the agent and the job's id. */
export class PluginJob implements AsyncDisposable {
  constructor(
    /** The stand-in, to read what Buildkite would show, or to cancel the job. */
    readonly api: AgentApi,
    /** The agent running it. */
    readonly agent: LocalAgent,
    /** The job's id. */
    readonly id: string,
    readonly workDir: string,
  ) {}

  /** Waits for the job to end (finished, canceled or timed out) and the agent to exit. */
  async ended(timeoutMs = 300_000): Promise<FinishPayload> {
    await Promise.any(
      (["finished", "canceled", "timed_out"] as const).map((state) =>
        this.api.waitForState(this.id, state, { timeoutMs })
      ),
    ).catch((error: AggregateError) => {
      throw new Error(
        `the job did not end: ${error.errors.map((e) => (e as Error).message).join("; ")}\n` +
          `agent output:\n${this.agent.output().slice(-3000)}`,
      );
    });
    await this.agent.status;
    return this.api.finish(this.id)!;
  }

  /** The job's log as the stand-in stored it. */
  log(): string {
    return this.api.log(this.id);
  }

  /** The subcommands the job's hooks started the program with, in order. */
  async programRuns(): Promise<string[]> {
    const runs = await Deno.readTextFile(`${this.workDir}/program-runs`).catch(() => "");
    return runs.split("\n").filter(Boolean);
  }

  /** Stops the agent, the stand-in, and removes the scratch directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.agent[Symbol.asyncDispose]();
    await this.api[Symbol.asyncDispose]();
    await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
  }
}

/** Starts the stand-in and a real agent, and queues one job that uses this plugin. */
export async function startPluginJob(options: PluginJobOptions): Promise<PluginJob> {
  const workDir = await Deno.makeTempDir({ prefix: "kbk-plugin-job-" });
  const plugin = await pluginRepository(workDir);
  const program = await programShim(workDir);
  const api = serveAgentApi({ minuteMs: options.minuteMs });
  const agent = await startAgent(api, {
    env: { KUBECONFIG: options.kubeconfig, BUILDKITE_KUBERNETES_PLUGIN_PROGRAM: program },
    hooks: options.agentHooks,
    cancelGracePeriodSeconds: options.cancelGracePeriodSeconds,
  });
  const job: JobOptions = {
    repository: options.repository,
    command: options.command,
    plugins: [
      ...(options.otherPlugins ?? []),
      { [`${plugin.source}#${plugin.sha}`]: options.plugin },
    ],
    timeoutInMinutes: options.timeoutInMinutes,
    artifactPaths: options.artifactPaths,
    env: {
      BUILDKITE_PIPELINE_SLUG: "kubernetes-plugin",
      BUILDKITE_ORGANIZATION_SLUG: "demo",
      ...options.env,
    },
  };
  return new PluginJob(api, agent, api.queueJob(job), workDir);
}
