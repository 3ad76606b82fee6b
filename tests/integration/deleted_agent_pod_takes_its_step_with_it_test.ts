/**
 * An agent running in a pod (POD_NAME and POD_NAMESPACE, as the agent chart sets them) owns
 * its steps' Jobs: when the agent's pod is deleted (scale-down, a node drained, a rollout
 * past its grace), the garbage collector deletes its step's Job and pod instead of leaving
 * them running orphaned. An owner cannot be in another namespace, so a Job elsewhere has
 * none, and runs as usual rather than being collected at once.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { stepJobName, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

type Owned = KubeObject & {
  metadata: { ownerReferences?: { kind: string; name: string; uid: string }[] };
};

/** A stand-in for the agent's pod, never scheduled (no node has its label): only its uid matters. */
async function agentPod(namespace: string): Promise<{ name: string; uid: string }> {
  const pod = await testCluster().api.post<Owned>(`/api/v1/namespaces/${namespace}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "buildkite-agent-0" },
    spec: {
      nodeSelector: { "kbk.test/no-such-node": "true" },
      containers: [{ name: "agent", image: "alpine:3", command: ["sleep", "600"] }],
    },
  });
  return { name: pod.metadata.name!, uid: pod.metadata.uid! };
}

function job(namespace: string, name: string): Promise<Owned> {
  return testCluster().api.get<Owned>(`/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
}

Deno.test("the agent's pod deleted while its step runs: the step's Job and pod go with it", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const agent = await agentPod(ns);
  const jobId = newJobId();
  let deleted: Promise<Owned> | undefined;
  const result = await runStep({
    namespace: ns,
    plugin: { image: "alpine:3", "init-image": "" },
    // Ends at once when its pod is deleted (a shell as PID 1 ignores SIGTERM otherwise), and
    // by itself, with 0, if the pod is not deleted.
    command: "trap 'exit 143' TERM; echo started; sleep 45 & wait",
    env: { POD_NAME: agent.name, POD_NAMESPACE: ns },
    jobId,
    onOutput: (stdout) => {
      if (deleted || !stdout.includes("\nstarted\n")) return;
      deleted = (async () => {
        const owned = await job(ns, stepJobName(jobId));
        await testCluster().api.delete(`/api/v1/namespaces/${ns}/pods/${agent.name}`, {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
        });
        return owned;
      })();
    },
  });
  assert.ok(deleted, result.stdout + result.stderr);
  const owned = await deleted;
  assert.deepEqual(
    owned.metadata.ownerReferences?.map(({ kind, name, uid }) => ({ kind, name, uid })),
    [{ kind: "Pod", ...agent }],
  );
  assert.notEqual(result.status, 0, result.stdout + result.stderr);
  await waitUntilNone(ns, "jobs", { timeoutMs: 60_000 });
  await waitUntilNone(ns, "pods", { timeoutMs: 60_000 });
});

Deno.test("the agent's pod in another namespace: the Job has no owner and runs to its end", async () => {
  await using agentNamespace = await freshNamespace();
  await using namespace = await freshNamespace();
  const agent = await agentPod(agentNamespace.name);
  const jobId = newJobId();
  let seen: Promise<Owned> | undefined;
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", "init-image": "" },
    command: "echo started; sleep 2; echo finished",
    env: { POD_NAME: agent.name, POD_NAMESPACE: agentNamespace.name },
    jobId,
    onOutput: (stdout) => {
      if (!seen && stdout.includes("\nstarted\n")) {
        seen = job(namespace.name, stepJobName(jobId));
      }
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /\nstarted\nfinished\n/);
  assert.equal((await seen!).metadata.ownerReferences, undefined);
});
