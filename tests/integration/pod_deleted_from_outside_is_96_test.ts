/**
 * A step whose pod someone else deletes while the command runs (an operator, a node
 * drain): the container's exit status says nothing about the command then, so the hook
 * exits 96, says the pod was deleted from outside, and deletes the Job.
 */
import assert from "node:assert/strict";
import type { KubeList, Pod } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("the pod deleted from outside while the command runs: exit 96, said so", async () => {
  await using namespace = await freshNamespace();
  const jobId = newJobId();
  const name = stepJobName(jobId);
  let commandRuns!: () => void;
  const running = new Promise<void>((resolve) => commandRuns = resolve);
  const step = runStep({
    namespace: namespace.name,
    jobId,
    plugin: { image: "alpine:3", "init-image": "" },
    command: "echo started\nsleep 300\necho finished",
    onOutput: (stdout) => {
      if (stdout.includes("\nstarted\n")) commandRuns();
    },
  });
  // A step that ends before its command ran fails the assertions below instead of hanging.
  await Promise.race([running, step]);
  const pods = await testCluster().api.get<KubeList<Pod>>(
    `/api/v1/namespaces/${namespace.name}/pods`,
    { labelSelector: `batch.kubernetes.io/job-name=${name}` },
  );
  assert.equal(pods.items.length, 1);
  const podName = pods.items[0].metadata.name!;
  await testCluster().api.delete(`/api/v1/namespaces/${namespace.name}/pods/${podName}`);
  const result = await step;
  assert.equal(result.status, 96, result.stdout + result.stderr);
  assert.ok(result.durationMs < 20_000, `ended after ${result.durationMs} ms`);
  // The container's status (SIGTERM: 143) is named when it arrived before the verdict; the
  // diagnosis says what happened and shows the Events (the kubelet's Killing among them).
  assert.match(
    result.stdout,
    new RegExp(
      `^~~~ :kubernetes: Creating Job ${namespace.name}/${name}\\n` +
        "\\+\\+\\+ :kubernetes: alpine:3\\n" +
        "started\\n" +
        `\\+\\+\\+ :kubernetes: The pod ${podName} was deleted by someone else before the step ` +
        "finished( \\(its container was stopped with status 143\\))?\\.\\n" +
        "reason: Deleted\\n" +
        `message: pod ${podName} was deleted at \\S+ while its step ran; see the Events for who or what stopped it\\n` +
        "recent events:\\n(.*\\n)*.*Killing.*\\n(.*\\n)*" +
        `kubernetes plugin: deleted Job ${namespace.name}/${name}\\n$`,
    ),
  );
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 30_000 });
});
