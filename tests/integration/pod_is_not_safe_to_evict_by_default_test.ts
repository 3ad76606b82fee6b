/**
 * The cluster autoscaler does not evict a running step to scale its node down: every pod of
 * a step carries `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`, a retried pod
 * too, unless the agent-wide `safe-to-evict` says otherwise.
 */
import assert from "node:assert/strict";
import type { KubeList, Pod } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";

const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/** Keeps the step's Job and pods after it, so that they are read here. */
const KEEP = { "job-cleanup-after-finished-via-plugin": false };

async function podAnnotations(namespace: string, jobId: string): Promise<(string | undefined)[]> {
  const pods = await testCluster().api.get<KubeList<Pod>>(
    `/api/v1/namespaces/${namespace}/pods?labelSelector=buildkite/job-id=${jobId}`,
  );
  return pods.items.map((pod) => pod.metadata.annotations?.[SAFE_TO_EVICT]);
}

Deno.test('every pod of a step, a retried one too, is safe-to-evict "false" by default', async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", "init-image": "", "job-backoff-limit": 1, ...KEEP },
    command: "exit 3",
  });
  assert.equal(result.status, 3, result.stdout + result.stderr);
  assert.deepEqual(await podAnnotations(namespace.name, result.jobId), ["false", "false"]);
});

Deno.test('the agent-wide safe-to-evict: true makes the pod "true"', async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", "init-image": "", ...KEEP },
    command: "true",
    env: { BUILDKITE_PLUGIN_KUBERNETES_SAFE_TO_EVICT: "true" },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.deepEqual(await podAnnotations(namespace.name, result.jobId), ["true"]);
});
