import assert from "node:assert/strict";
import type { Event, Pod } from "./kube_types.ts";
import { freshNamespace, testCluster, waitFor, waitForEvent } from "./testing.ts";

Deno.test("a pod that ignores SIGTERM is killed when its grace period ends", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const pods = `/api/v1/namespaces/${ns}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "stubborn", finalizers: ["kbk.test/keep"] },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 2,
      containers: [{
        name: "step",
        image: "alpine:3.20",
        command: ["sh", "-c", 'trap "" TERM; echo ready; while true; do sleep 0.1; done'],
      }],
    },
  });
  await waitFor<Pod>(
    cluster.api,
    pods,
    "stubborn",
    (pod) => pod?.status?.containerStatuses?.[0]?.state.running !== undefined,
    { timeoutMs: 60_000, description: "run" },
  );
  const deleted = Date.now();
  await cluster.api.delete(`${pods}/stubborn`);
  const killing: Event = await waitForEvent(
    cluster,
    ns,
    "stubborn",
    (event) => event.reason === "Killing",
    {
      timeoutMs: 30_000,
    },
  );
  assert.equal(killing.message, "Stopping container step");
  // The finalizer keeps the object, so its final status can be read after the kubelet's delete.
  const pod = await waitFor<Pod>(
    cluster.api,
    pods,
    "stubborn",
    (pod) => pod?.status?.containerStatuses?.[0]?.state.terminated !== undefined,
    { timeoutMs: 30_000, description: "be killed" },
  );
  const elapsed = Date.now() - deleted;
  assert.equal(pod!.status!.containerStatuses![0].state.terminated!.exitCode, 137);
  assert.equal(pod!.status!.phase, "Failed");
  assert.ok(elapsed >= 2_000, `killed after ${elapsed} ms, before the grace period ended`);
  await cluster.api.patch(`${pods}/stubborn`, { metadata: { finalizers: null } });
  await waitFor<Pod>(cluster.api, pods, "stubborn", (pod) => pod === undefined, {
    timeoutMs: 30_000,
  });
});
