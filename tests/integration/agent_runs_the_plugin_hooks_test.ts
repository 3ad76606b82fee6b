/**
 * The real `buildkite-agent bootstrap` clones this plugin from a `file://` repository and
 * runs its hooks: the agent-side checkout is skipped, the pod checks out and runs the
 * command, the job ends with the command's status, and pre-exit cleans up. A cancel reaches
 * the plugin through the agent's own signal handling.
 */
import assert from "node:assert/strict";
import { runAgentJob, sampleRepository } from "../../scripts/agent_job.ts";
import { HOST_NETWORK, serveGitRepository } from "../cluster/git_server.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";

async function jobsIn(namespace: string): Promise<unknown[]> {
  const list = await testCluster().api.get<{ items: unknown[] }>(
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
  );
  return list.items;
}

Deno.test("the agent runs the plugin's hooks: checkout in the pod, the command's status, cleanup", async () => {
  await using namespace = await freshNamespace();
  const workDir = await Deno.makeTempDir({ prefix: "kbk-agent-job-" });
  // The pod clones over git:// on 127.0.0.1, in the host's network.
  await using repository = await serveGitRepository(await sampleRepository(workDir));
  const result = await runAgentJob({
    kubeconfig: testCluster().kubeconfigPath,
    plugin: { image: "alpine:3", namespace: namespace.name, "pod-spec-patch": HOST_NETWORK },
    command: "cat README.md\nexit 4",
    repository: repository.url,
    workDir,
  });
  // The agent runs hooks in a pseudo-terminal, which ends lines with \r\n.
  const log = result.output.replaceAll("\r\n", "\n");
  assert.equal(result.status, 4, log);
  let at = 0;
  for (
    const expected of [
      "Skipping the agent-side checkout: the pod checks the repository out",
      "~~~ :kubernetes: Creating Job",
      "--- :kubernetes: checkout",
      "git clone",
      "+++ :kubernetes: alpine:3\n# A repository checked out inside a Kubernetes pod\n",
      "The command exited with status 4",
      "~~~ :kubernetes: Cleanup",
      "kubernetes plugin: deleted Job",
    ]
  ) {
    const found = log.indexOf(expected, at);
    assert.ok(found !== -1, `${JSON.stringify(expected)} after offset ${at} in:\n${log}`);
    at = found + expected.length;
  }
  assert.deepEqual(await jobsIn(namespace.name), []);
  await Deno.remove(workDir, { recursive: true });
});

Deno.test("a cancel through the agent deletes the Job within seconds; pre-exit still runs", async () => {
  await using namespace = await freshNamespace();
  const workDir = await Deno.makeTempDir({ prefix: "kbk-agent-cancel-" });
  const result = await runAgentJob({
    kubeconfig: testCluster().kubeconfigPath,
    plugin: { "image": "alpine:3", "init-image": "", namespace: namespace.name },
    command: "echo step-is-running\nsleep 300",
    repository: await sampleRepository(workDir),
    workDir,
    cancel: { when: /^step-is-running\r?$/m, signal: "SIGTERM" },
  });
  assert.notEqual(result.status, 0);
  assert.ok(
    result.cancelToExitMs! < 5000,
    `the job ended ${result.cancelToExitMs} ms after the cancel`,
  );
  const log = result.output.replaceAll("\r\n", "\n");
  assert.match(
    log,
    /\+\+\+ :kubernetes: Cancelled \(SIGTERM\): deleted Job t-[0-9a-f]+\/kubernetes-plugin-1-[0-9a-f]{10}/,
  );
  assert.match(log, /~~~ :kubernetes: Cleanup/);
  assert.deepEqual(await jobsIn(namespace.name), []);
  const pods = await testCluster().api.get<
    { items: { metadata: { deletionTimestamp?: string } }[] }
  >(
    `/api/v1/namespaces/${namespace.name}/pods`,
  );
  assert.ok(pods.items.every((pod) => pod.metadata.deletionTimestamp), "the pod is gone or going");
  await Deno.remove(workDir, { recursive: true });
});

Deno.test("with agent-checkout: true the agent checks the repository out too", async () => {
  await using namespace = await freshNamespace();
  const workDir = await Deno.makeTempDir({ prefix: "kbk-agent-checkout-" });
  const result = await runAgentJob({
    kubeconfig: testCluster().kubeconfigPath,
    plugin: {
      "image": "alpine:3",
      "init-image": "",
      "agent-checkout": true,
      namespace: namespace.name,
    },
    command: "true",
    repository: await sampleRepository(workDir),
    workDir,
  });
  const log = result.output.replaceAll("\r\n", "\n");
  assert.equal(result.status, 0, log);
  const checkoutHook = log.indexOf("Running plugin kubernetes checkout hook");
  const commandHook = log.indexOf("Running plugin kubernetes command hook");
  assert.ok(checkoutHook !== -1 && commandHook > checkoutHook, log);
  assert.match(log.slice(checkoutHook, commandHook), /git clone -v -- \S+\/repository \.\n/);
  assert.equal(log.includes("Skipping the agent-side checkout"), false);
  const readme = `${workDir}/builds/local-agent/demo/kubernetes-plugin/README.md`;
  assert.match(await Deno.readTextFile(readme), /checked out inside a Kubernetes pod/);
  await Deno.remove(workDir, { recursive: true });
});
