/**
 * The cluster's one node is a real kubelet with containerd, not a simulation: it reports
 * the pinned versions, is Ready, and its pods' network reaches nothing but the pod itself.
 */
import assert from "node:assert/strict";
import { NODE_NAME } from "./control_plane.ts";
import type { KubeList, Node, Pod } from "./kube_types.ts";
import { freshNamespace, readPodLog, testCluster, waitFor } from "./testing.ts";

Deno.test("the one node is a Ready kubelet v1.37.2 on containerd", async () => {
  const nodes = await testCluster().api.get<KubeList<Node>>("/api/v1/nodes");
  assert.deepEqual(nodes.items.map((node) => node.metadata.name), [NODE_NAME]);
  const node = nodes.items[0];
  const info = node.status?.nodeInfo ?? {};
  assert.equal(info.kubeletVersion, "v1.37.2");
  assert.match(info.containerRuntimeVersion ?? "", /^containerd:\/\/2\.4\.2$/);
  const ready = node.status?.conditions?.find((condition) => condition.type === "Ready");
  assert.equal(ready?.status, "True");
});

Deno.test("a pod's own network has an address and a link route only", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const pods = `/api/v1/namespaces/${namespace.name}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "isolated" },
    spec: {
      restartPolicy: "Never",
      containers: [{ name: "step", image: "alpine:3", command: ["sh", "-c", "ip -4 route"] }],
    },
  });
  await waitFor<Pod>(cluster.api, pods, "isolated", (pod) => pod?.status?.phase === "Succeeded", {
    timeoutMs: 60_000,
    description: "succeed",
  });
  const routes = (await readPodLog(cluster, namespace.name, "isolated")).trim().split("\n");
  assert.equal(routes.length, 1, routes.join("\n"));
  assert.match(routes[0], /^10\.244\.0\.0\/24 dev eth0 scope link/);
});
