import assert from "node:assert/strict";
import { NODE_NAME } from "./control_plane.ts";
import type { Node, Pod } from "./kube_types.ts";
import { freshNamespace, testCluster, waitFor, waitForEvent } from "./testing.ts";

const MESSAGE = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. " +
  "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

Deno.test("a pod whose nodeSelector no node has stays Pending as Unschedulable", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const label = `kbk.test/${ns}`;
  const pods = `/api/v1/namespaces/${ns}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "picky" },
    spec: {
      restartPolicy: "Never",
      nodeSelector: { [label]: "yes" },
      containers: [{ name: "step", image: "alpine:3.20", command: ["true"] }],
    },
  });
  const pending = await waitFor<Pod>(
    cluster.api,
    pods,
    "picky",
    (pod) =>
      pod?.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False") ??
        false,
    { timeoutMs: 30_000, description: "be found unschedulable" },
  );
  const condition = pending!.status!.conditions!.find((c) => c.type === "PodScheduled")!;
  assert.equal(condition.reason, "Unschedulable");
  assert.equal(condition.message, MESSAGE);
  assert.equal(pending!.status!.phase, "Pending");
  assert.equal(pending!.spec.nodeName, undefined);
  const event = await waitForEvent(
    cluster,
    ns,
    "picky",
    (event) => event.reason === "FailedScheduling",
    {
      timeoutMs: 30_000,
    },
  );
  assert.equal(event.type, "Warning");
  assert.equal(event.message, MESSAGE);

  // Once the node has the label, the pod is scheduled without being touched.
  const nodes = "/api/v1/nodes";
  const node = await cluster.api.get<Node>(`${nodes}/${NODE_NAME}`);
  try {
    await cluster.api.patch(`${nodes}/${node.metadata.name}`, {
      metadata: { labels: { [label]: "yes" } },
    });
    const done = await waitFor<Pod>(
      cluster.api,
      pods,
      "picky",
      (pod) => pod?.status?.phase === "Succeeded",
      {
        timeoutMs: 60_000,
        description: "be scheduled and succeed",
      },
    );
    assert.equal(done!.spec.nodeName, NODE_NAME);
  } finally {
    await cluster.api.patch(`${nodes}/${node.metadata.name}`, {
      metadata: { labels: { [label]: null } },
    });
  }
});
