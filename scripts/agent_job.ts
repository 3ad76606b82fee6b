/**
 * A Buildkite job run by the real `buildkite-agent bootstrap` with this plugin cloned from a
 * `file://` git repository, as the agent does in production: the agent clones the plugin,
 * runs its `checkout`, `command` and `pre-exit` hooks, and turns signals into a cancel.
 * Used by `deno task demo` and by the integration tests.
 *
 * @module
 */
import { locateBinaries, REPOSITORY_ROOT } from "../tests/cluster/binaries.ts";

/** The permissions `deno task compile` gives the program in the image. */
function compiledPermissions(): string[] {
  const denoJson = JSON.parse(Deno.readTextFileSync(`${REPOSITORY_ROOT}/deno.json`));
  return (denoJson.tasks.compile as string).split(/\s+/).filter((word) =>
    word.startsWith("--allow-")
  );
}

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

/** A job to run through the agent. */
export interface AgentJobOptions {
  /** The kubeconfig of the cluster. */
  kubeconfig: string;
  /** The plugin's configuration. */
  plugin: Record<string, unknown>;
  /** The step's command. */
  command: string;
  /**
   * The repository (BUILDKITE_REPO), which the agent requires. The plugin's checkout hook
   * keeps the agent from cloning it; the pod clones it unless `init-image` is empty.
   */
  repository: string;
  /** A scratch directory (plugin clone, build path, sockets…). */
  workDir: string;
  /** The Buildkite job id (default: a fresh one). */
  jobId?: string;
  /** Called with each piece of the job's log as it arrives. */
  onOutput?: (text: string) => void;
  /** Sends a signal to the agent once the log matches: a cancel, as the agent would get it. */
  cancel?: { when: RegExp; signal: Deno.Signal };
}

/** How the job ended. */
export interface AgentJobResult {
  /** The agent's exit status: the job's. */
  status: number;
  /** The whole job log. */
  output: string;
  /** Milliseconds from the cancel signal to the agent's exit, when cancelled. */
  cancelToExitMs?: number;
}

/** Runs one job through `buildkite-agent bootstrap`, this plugin and the cluster. */
export async function runAgentJob(options: AgentJobOptions): Promise<AgentJobResult> {
  const { workDir } = options;
  const binaries = await locateBinaries();
  const plugin = await pluginRepository(workDir);
  for (const dir of ["builds", "plugins", "hooks", "sockets"]) {
    await Deno.mkdir(`${workDir}/${dir}`, { recursive: true });
  }
  // Production runs the compiled program from the agent image; here, this checkout's source.
  const program = `${workDir}/kubernetes-buildkite-plugin-program`;
  await Deno.writeTextFile(
    program,
    `#!/bin/sh\nexec "${Deno.execPath()}" run --quiet ${compiledPermissions().join(" ")} ` +
      `"${REPOSITORY_ROOT}/src/main.ts" "$@"\n`,
  );
  await Deno.chmod(program, 0o755);
  const agentDir = binaries.buildkiteAgent.slice(0, binaries.buildkiteAgent.lastIndexOf("/"));
  const env: Record<string, string> = {
    PATH: `${agentDir}:/usr/local/bin:/usr/bin:/bin`,
    HOME: Deno.env.get("HOME") ?? "/root",
    KUBECONFIG: options.kubeconfig,
    BUILDKITE_KUBERNETES_PLUGIN_PROGRAM: program,
    BUILDKITE_JOB_ID: options.jobId ?? crypto.randomUUID(),
    BUILDKITE_BUILD_ID: crypto.randomUUID(),
    BUILDKITE_BUILD_NUMBER: "1",
    BUILDKITE_AGENT_NAME: "local-agent",
    BUILDKITE_ORGANIZATION_SLUG: "demo",
    BUILDKITE_PIPELINE_SLUG: "kubernetes-plugin",
    BUILDKITE_PIPELINE_PROVIDER: "git",
    BUILDKITE_BUILD_PATH: `${workDir}/builds`,
    BUILDKITE_PLUGINS_PATH: `${workDir}/plugins`,
    BUILDKITE_HOOKS_PATH: `${workDir}/hooks`,
    BUILDKITE_SOCKETS_PATH: `${workDir}/sockets`,
    BUILDKITE_BIN_PATH: agentDir,
    // A job token the pod gets through its Secret; there is no Buildkite API behind it.
    BUILDKITE_AGENT_ACCESS_TOKEN: "local-job-token",
    BUILDKITE_AGENT_ENDPOINT: "http://127.0.0.1:9/v3",
    BUILDKITE_COMMAND: options.command,
    BUILDKITE_PLUGINS: JSON.stringify([{ [`${plugin.source}#${plugin.sha}`]: options.plugin }]),
    BUILDKITE_REPO: options.repository,
    BUILDKITE_COMMIT: "HEAD",
    BUILDKITE_BRANCH: "main",
    BUILDKITE_COMMIT_RESOLVED: "true",
  };
  const child = new Deno.Command(binaries.buildkiteAgent, {
    args: ["bootstrap"],
    env,
    clearEnv: true,
    cwd: workDir,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let cancelledAt: number | undefined;
  const read = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      options.onOutput?.(text);
      if (options.cancel && cancelledAt === undefined && options.cancel.when.test(output)) {
        cancelledAt = performance.now();
        child.kill(options.cancel.signal);
      }
    }
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  const { code } = await child.status;
  const exitedAt = performance.now();
  await reading;
  return {
    status: code,
    output,
    cancelToExitMs: cancelledAt === undefined ? undefined : exitedAt - cancelledAt,
  };
}
