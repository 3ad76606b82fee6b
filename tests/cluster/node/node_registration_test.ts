import assert from "node:assert/strict";
import { hostCapacity, nodeObject } from "./node_registration.ts";

Deno.test("the Node is Ready with the kubelet port, InternalIP 127.0.0.1 and the host's capacity", () => {
  const capacity = hostCapacity();
  assert.equal(capacity.cpu, String(navigator.hardwareConcurrency));
  assert.match(capacity.memory, /^\d+Ki$/);
  const node = nodeObject({
    nodeName: "kbk-node",
    kubeconfig: "/k",
    port: 10250,
    stateDir: "/s",
    cgroup: "/c",
    imageCatalogue: "/i",
    apiServerPort: 6443,
    labels: { tier: "ci" },
    taints: [{ key: "dedicated", value: "ci", effect: "NoSchedule" }],
  }, capacity);
  assert.equal(node.metadata.labels?.["kubernetes.io/hostname"], "kbk-node");
  assert.equal(node.metadata.labels?.["kubernetes.io/os"], "linux");
  assert.equal(node.metadata.labels?.tier, "ci");
  assert.deepEqual(node.spec?.taints, [{ key: "dedicated", value: "ci", effect: "NoSchedule" }]);
  assert.deepEqual(node.status?.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
  assert.deepEqual(node.status?.addresses?.[0], { type: "InternalIP", address: "127.0.0.1" });
  assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
  assert.deepEqual(node.status?.allocatable, capacity);
});
