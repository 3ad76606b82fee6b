import assert from "node:assert/strict";
import type { V1PodSpec } from "@kubernetes/client-node";
import { strategicMergePodSpec } from "../../../src/render/patch.ts";

const base: V1PodSpec = {
  restartPolicy: "Never",
  nodeSelector: { a: "1" },
  tolerations: [{ key: "x", operator: "Exists" }],
  containers: [{
    name: "step",
    image: "alpine",
    args: ["a", "b"],
    env: [{ name: "A", value: "1" }, { name: "B", value: "2" }],
    volumeMounts: [{ name: "build", mountPath: "/build" }],
  }],
  volumes: [{ name: "build", emptyDir: {} }],
};

const cases: [string, Record<string, unknown>, (spec: V1PodSpec) => void][] = [
  [
    "maps merge",
    { nodeSelector: { b: "2" } },
    (s) => assert.deepEqual(s.nodeSelector, { a: "1", b: "2" }),
  ],
  ["null removes a field", { nodeSelector: null }, (s) => assert.equal(s.nodeSelector, undefined)],
  [
    "lists without a merge key are replaced",
    { tolerations: [{ key: "y", operator: "Exists" }] },
    (s) => {
      assert.deepEqual(s.tolerations, [{ key: "y", operator: "Exists" }]);
    },
  ],
  ["containers merge by name, env by name", {
    containers: [{ name: "step", env: [{ name: "B", value: "two" }, { name: "C", value: "3" }] }],
  }, (s) => {
    assert.deepEqual(s.containers[0].env, [{ name: "A", value: "1" }, { name: "B", value: "two" }, {
      name: "C",
      value: "3",
    }]);
    assert.equal(s.containers[0].image, "alpine");
  }],
  ["a new container is added", { containers: [{ name: "sidecar", image: "redis" }] }, (s) => {
    assert.deepEqual(s.containers.map((c) => c.name), ["step", "sidecar"]);
  }],
  ["primitive lists inside containers are replaced", {
    containers: [{ name: "step", args: ["c"] }],
  }, (s) => {
    assert.deepEqual(s.containers[0].args, ["c"]);
  }],
  ["volumeMounts merge by mountPath", {
    containers: [{
      name: "step",
      volumeMounts: [{ mountPath: "/build", name: "cache" }, { mountPath: "/x", name: "x" }],
    }],
  }, (s) => {
    assert.deepEqual(s.containers[0].volumeMounts, [{ name: "cache", mountPath: "/build" }, {
      name: "x",
      mountPath: "/x",
    }]);
  }],
  [
    "volumes merge by name",
    { volumes: [{ name: "build", emptyDir: { medium: "Memory" } }] },
    (s) => {
      assert.deepEqual(s.volumes, [{ name: "build", emptyDir: { medium: "Memory" } }]);
    },
  ],
  ["$patch: delete removes a list item", {
    containers: [{ name: "step", env: [{ name: "A", $patch: "delete" }] }],
  }, (s) => {
    assert.deepEqual(s.containers[0].env, [{ name: "B", value: "2" }]);
  }],
  ["$patch: replace replaces a list", {
    volumes: [{ $patch: "replace" }, { name: "only", emptyDir: {} }],
  }, (s) => {
    assert.deepEqual(s.volumes, [{ name: "only", emptyDir: {} }]);
  }],
  ["$patch: replace replaces a map", { nodeSelector: { $patch: "replace", z: "9" } }, (s) => {
    assert.deepEqual(s.nodeSelector, { z: "9" });
  }],
];

for (const [name, patch, check] of cases) {
  Deno.test(`pod-spec-patch: ${name}`, () => {
    const before = structuredClone(base);
    check(strategicMergePodSpec(base, patch));
    assert.deepEqual(base, before, "the input is not modified");
  });
}
