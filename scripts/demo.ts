/**
 * `deno task demo [--image I] [--command C] [--repo URL] [--init-image I] [--namespace N]`:
 * one real step, as a Kubernetes Job, through the real `buildkite-agent bootstrap` with this
 * plugin cloned from a `file://` repository. Prints the build log; exits with the step's
 * status.
 *
 * Without KUBECONFIG it builds the pinned binaries if needed and runs on the local cluster, a
 * real node (started for the demo and stopped after it, unless `deno task cluster up`
 * already runs one), checking out a sample repository served on 127.0.0.1. With KUBECONFIG it uses that cluster and real images: the pod cannot see this
 * machine's files, so it checks out only a `--repo` it can reach, with an `--init-image`
 * that carries `buildkite-agent`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { defaultStateDir, down, up } from "../tests/cluster/control_plane.ts";
import { REPOSITORY_ROOT } from "../tests/cluster/binaries.ts";
import { HOST_NETWORK, serveGitRepository } from "../tests/cluster/git_server.ts";
import { runAgentJob, sampleRepository } from "./agent_job.ts";

const log = (message: string) => console.error(`[demo] ${message}`);

const DEFAULT_COMMAND = [
  'echo "Hello from a Kubernetes Job: $(hostname)"',
  "ls -la",
  "cat README.md",
  "buildkite-agent --version",
].join("\n");

async function buildBinaries(): Promise<void> {
  const { code } = await new Deno.Command(`${REPOSITORY_ROOT}/scripts/build-binaries`, {
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`scripts/build-binaries failed (exit ${code})`);
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
    if (alreadyRunning) log(`using the local control plane already running in ${stateDir}`);
    else stop = () => down(stateDir, log);
  }
  const workDir = await Deno.makeTempDir({ prefix: "kbk-demo-" });
  // Ctrl-C reaches the agent too (one process group), which cancels the step; the demo
  // stays to stop what it started.
  const onSignal = () => log("interrupted: the agent cancels the step");
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    // On the local node a pod's own network reaches nothing: the sample repository is
    // served on 127.0.0.1 and the step's pod runs in the host's network.
    await using served = flags.repo || realCluster
      ? undefined
      : await serveGitRepository(await sampleRepository(workDir));
    const repository = flags.repo ?? served?.url ?? await sampleRepository(workDir);
    const plugin: Record<string, unknown> = {
      image: flags.image ?? "alpine:3",
      ...(served ? { "pod-spec-patch": HOST_NETWORK } : {}),
      ...(flags.namespace ? { namespace: flags.namespace } : {}),
      ...(flags["init-image"] !== undefined
        ? { "init-image": flags["init-image"] }
        : realCluster && !flags.repo
        ? { "init-image": "" }
        : {}),
    };
    log(`running one step through buildkite-agent bootstrap with ${JSON.stringify(plugin)}`);
    const result = await runAgentJob({
      kubeconfig,
      plugin,
      command: flags.command ?? DEFAULT_COMMAND,
      repository,
      workDir,
      onOutput: (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
    });
    log(`the step ended with exit status ${result.status}`);
    return result.status;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    await stop?.();
  }
}

Deno.exit(await main());
