/**
 * The per-step Secret is owned by its Job: whoever deletes the Job (the TTL controller, an
 * operator, the pre-exit hook), the garbage collector removes the Secret with it.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import type { Job, KubeObject } from "../cluster/kube_types.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

Deno.test("the step's Secret is owned by its Job and garbage-collected with it", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const result = await runStep({
    namespace: ns,
    // Left by the plugin, for someone else to delete.
    plugin: { image: "alpine:3", "init-image": "", "job-cleanup-after-finished-via-plugin": false },
    command: "echo done",
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const name = stepJobName(result.jobId);
  const api = testCluster().api;
  const job = await api.get<Job>(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`);
  const secret = await api.get<KubeObject>(`/api/v1/namespaces/${ns}/secrets/${name}`);
  assert.deepEqual(
    secret.metadata.ownerReferences?.map(({ kind, name, uid }) => ({ kind, name, uid })),
    [{ kind: "Job", name, uid: job.metadata.uid }],
  );
  // Deleted by someone else than the plugin, which deletes the Secret itself on a cancel.
  await api.delete(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`, {
    propagationPolicy: "Background",
  });
  await waitUntilNone(ns, "secrets", { timeoutMs: 30_000 });
  assert.deepEqual(await objectNames(ns, "secrets"), []);
});
