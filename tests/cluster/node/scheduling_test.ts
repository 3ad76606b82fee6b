import assert from "node:assert/strict";
import type { Node, NodeSelectorRequirement, Pod, PodSpec } from "../kube_types.ts";
import { podRequests, scheduleVerdict, tolerates } from "./scheduling.ts";

const node: Node = {
  metadata: {
    name: "kbk-node",
    labels: { "kubernetes.io/hostname": "kbk-node", "kubernetes.io/os": "linux", tier: "4" },
  },
  spec: { taints: [{ key: "dedicated", value: "ci", effect: "NoSchedule" }] },
  status: { allocatable: { cpu: "2", memory: "4Gi", pods: "3" } },
};

const tolerateDedicated = [{ key: "dedicated", operator: "Equal" as const, value: "ci" }];

function pod(spec: Partial<PodSpec>): Pod {
  return {
    metadata: { name: "p" },
    spec: { containers: [{ name: "c" }], tolerations: tolerateDedicated, ...spec },
  };
}

function affinity(requirement: NodeSelectorRequirement): Partial<PodSpec> {
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [requirement] }],
        },
      },
    },
  };
}

const AFFINITY = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. " +
  "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

Deno.test("scheduleVerdict applies nodeSelector and required node affinity", () => {
  const cases: [string, Partial<PodSpec>, boolean][] = [
    ["no constraints", {}, true],
    ["matching selector", { nodeSelector: { "kubernetes.io/os": "linux" } }, true],
    ["selector on a missing label", { nodeSelector: { gpu: "true" } }, false],
    ["selector with another value", { nodeSelector: { "kubernetes.io/os": "windows" } }, false],
    ["affinity In", affinity({ key: "tier", operator: "In", values: ["3", "4"] }), true],
    ["affinity In miss", affinity({ key: "tier", operator: "In", values: ["3"] }), false],
    ["affinity NotIn", affinity({ key: "tier", operator: "NotIn", values: ["3"] }), true],
    ["affinity NotIn absent", affinity({ key: "zone", operator: "NotIn", values: ["a"] }), true],
    ["affinity Exists", affinity({ key: "tier", operator: "Exists" }), true],
    ["affinity DoesNotExist", affinity({ key: "tier", operator: "DoesNotExist" }), false],
    ["affinity Gt", affinity({ key: "tier", operator: "Gt", values: ["3"] }), true],
    ["affinity Lt", affinity({ key: "tier", operator: "Lt", values: ["3"] }), false],
    [
      "terms are ORed",
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: "zone", operator: "Exists" }] },
                { matchFields: [{ key: "metadata.name", operator: "In", values: ["kbk-node"] }] },
              ],
            },
          },
        },
      },
      true,
    ],
  ];
  for (const [name, spec, fits] of cases) {
    const verdict = scheduleVerdict(pod(spec), node, []);
    assert.equal(verdict.fits, fits, name);
    if (!verdict.fits) assert.equal(verdict.message, AFFINITY, name);
  }
});

Deno.test("scheduleVerdict keeps pods off tainted nodes unless tolerated", () => {
  const verdict = scheduleVerdict(pod({ tolerations: [] }), node, []);
  assert.deepEqual(verdict, {
    fits: false,
    message: "0/1 nodes are available: 1 node(s) had untolerated taint(s). preemption: " +
      "0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
  });
  assert.equal(
    scheduleVerdict(pod({ tolerations: [{ operator: "Exists" }] }), node, []).fits,
    true,
  );
});

Deno.test("tolerates matches key, value, operator and effect", () => {
  const taint = { key: "k", value: "v", effect: "NoSchedule" as const };
  assert.equal(tolerates({ key: "k", value: "v" }, taint), true);
  assert.equal(tolerates({ key: "k", value: "w" }, taint), false);
  assert.equal(tolerates({ key: "k", operator: "Exists" }, taint), true);
  assert.equal(tolerates({ key: "k", operator: "Exists", effect: "NoExecute" }, taint), false);
  assert.equal(tolerates({ operator: "Exists" }, taint), true);
  assert.equal(tolerates({ key: "other", operator: "Exists" }, taint), false);
});

Deno.test("scheduleVerdict counts the requests of pods already on the node", () => {
  const big = pod({ containers: [{ name: "c", resources: { requests: { cpu: "1500m" } } }] });
  assert.equal(scheduleVerdict(big, node, []).fits, true);
  assert.deepEqual(scheduleVerdict(big, node, [big]), {
    fits: false,
    message: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are " +
      "available: 1 No preemption victims found for incoming pod.",
  });
  const full = [pod({}), pod({}), pod({})];
  assert.match(
    (scheduleVerdict(pod({}), node, full) as { message: string }).message,
    /Too many pods/,
  );
});

Deno.test("podRequests takes the larger of containers and each init container", () => {
  const requests = podRequests(pod({
    initContainers: [{ name: "i", resources: { requests: { memory: "3Gi" } } }],
    containers: [
      { name: "a", resources: { requests: { memory: "1Gi", cpu: "250m" } } },
      { name: "b", resources: { limits: { memory: "1Gi" } } },
    ],
  }));
  assert.deepEqual(requests, { memory: 3 * 2 ** 30, cpu: 0.25 });
});
