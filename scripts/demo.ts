/**
 * `deno task demo [--image I] [--command C] [--repo URL] [--init-image I] [--namespace N]`:
 * one real Buildkite job as Buildkite would run it: the real `buildkite-agent start` takes the
 * job from a local stand-in for Buildkite's agent API, clones this plugin from a local git
 * repository and runs its hooks, which turn the step into a Kubernetes Job. The step checks a
 * small repository out, writes an annotation, sets meta-data and uploads an artifact from
 * inside the pod. The demo then prints what Buildkite would show (the job's log as stored,
 * the annotation, the meta-data, the artifacts and the exit status reported in `finish`) and
 * exits with that status.
 *
 * Without KUBECONFIG it builds the pinned binaries if needed and runs on the local cluster, a
 * real node (started for the demo and stopped after it, unless `deno task cluster up`
 * already runs one); the repository is served on 127.0.0.1 and the step's pod runs in the
 * host's network, where the stand-in listens. With KUBECONFIG it uses that cluster: its pods
 * cannot reach this machine, so give a `--repo` they can reach and an `--init-image` that
 * carries `buildkite-agent`; the step then runs without the agent API calls.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { defaultStateDir, down, up } from "../tests/cluster/control_plane.ts";
import { REPOSITORY_ROOT } from "../tests/cluster/binaries.ts";
import { HOST_NETWORK, serveGitRepository } from "../tests/cluster/git_server.ts";
import type { PluginJob } from "../tests/buildkite/plugin_job.ts";
import { sampleRepository, startPluginJob } from "../tests/buildkite/plugin_job.ts";

const log = (message: string) => console.error(`[demo] ${message}`);

/** What the step does on the local cluster: everything a Buildkite user would see. */
const LOCAL_COMMAND = [
  'echo "Hello from a Kubernetes Job: $(hostname)"',
  "cat README.md",
  "buildkite-agent --version",
  "buildkite-agent annotate --style success 'Built in a Kubernetes pod :kubernetes:'",
  'buildkite-agent meta-data set ran-in "$(hostname)"',
  'echo "made in the pod" > report.txt',
  "buildkite-agent artifact upload report.txt",
].join("\n");

/** On another cluster, whose pods cannot reach the stand-in on this machine. */
const REMOTE_COMMAND = [
  'echo "Hello from a Kubernetes Job: $(hostname)"',
  "ls -la",
].join("\n");

async function buildBinaries(): Promise<void> {
  const { code } = await new Deno.Command(`${REPOSITORY_ROOT}/scripts/build-binaries`, {
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`scripts/build-binaries failed (exit ${code})`);
}

/** Prints what Buildkite would show of the job. */
function show(job: PluginJob): void {
  const section = (title: string) => console.log(`\n===== ${title} =====`);
  section("job log (as Buildkite stored it)");
  console.log(job.log().trimEnd());
  section("annotations");
  for (const annotation of job.api.annotations(job.id)) {
    console.log(`[${annotation.style}] ${annotation.context}: ${annotation.body}`);
  }
  section("meta-data");
  for (const [key, value] of Object.entries(job.api.metaData(job.id))) {
    console.log(`${key}=${value}`);
  }
  section("artifacts");
  for (const artifact of job.api.artifacts(job.id)) {
    console.log(`${artifact.path} (${artifact.fileSize} bytes, ${artifact.state})`);
  }
}

async function main(): Promise<number> {
  const { values: flags } = parseArgs({
    args: Deno.args,
    options: {
      image: { type: "string" },
      command: { type: "string" },
      repo: { type: "string" },
      "init-image": { type: "string" },
      namespace: { type: "string" },
    },
  });
  const realCluster = Deno.env.get("KUBECONFIG");
  let kubeconfig: string;
  let stop: (() => Promise<void>) | undefined;
  if (realCluster) {
    log(`using the cluster in KUBECONFIG (${realCluster})`);
    kubeconfig = realCluster;
  } else {
    await buildBinaries();
    const stateDir = defaultStateDir();
    const { state, alreadyRunning } = await up({ stateDir, log, ownerPid: Deno.pid });
    kubeconfig = state.kubeconfig;
    if (alreadyRunning) log(`using the local cluster already running in ${stateDir}`);
    else stop = () => down(stateDir, log);
  }
  const workDir = await Deno.makeTempDir({ prefix: "kbk-demo-" });
  // Ctrl-C reaches the agent too (one process group), which cancels the step; the demo
  // stays to stop what it started.
  const onSignal = () => log("interrupted: the agent cancels the step");
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const local = !realCluster;
    await using served = flags.repo || !local
      ? undefined
      : await serveGitRepository(await sampleRepository(workDir));
    const plugin: Record<string, unknown> = {
      image: flags.image ?? "alpine:3",
      ...(local ? { "pod-spec-patch": HOST_NETWORK } : {}),
      ...(flags.namespace ? { namespace: flags.namespace } : {}),
      ...(flags["init-image"] !== undefined
        ? { "init-image": flags["init-image"] }
        : !local && !flags.repo
        ? { "init-image": "" }
        : {}),
    };
    log(`running one job through buildkite-agent start with ${JSON.stringify(plugin)}`);
    await using job = await startPluginJob({
      kubeconfig,
      plugin,
      command: flags.command ?? (local ? LOCAL_COMMAND : REMOTE_COMMAND),
      repository: flags.repo ?? served?.url ?? "https://github.com/buildkite/agent.git",
    });
    const finish = await job.ended();
    show(job);
    const status = Number(finish.exit_status);
    console.log(
      `\n===== finish =====\nexit_status ${finish.exit_status}` +
        (finish.signal ? `, signal ${finish.signal} (${finish.signal_reason})` : ""),
    );
    return Number.isInteger(status) && status >= 0 ? status : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    await stop?.();
  }
}

Deno.exit(await main());
