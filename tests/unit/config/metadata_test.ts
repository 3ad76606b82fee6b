/** Label and annotation keys and values are accepted exactly as Kubernetes accepts them. */
import assert from "node:assert/strict";
import {
  annotationsSize,
  LABEL_VALUE_PATTERN,
  QUALIFIED_NAME_PATTERN,
  reservedKey,
} from "../../../src/config/metadata.ts";

const keys: [string, boolean][] = [
  ["team", true],
  ["Team_1.x-y", true],
  ["example.com/team", true],
  ["a.b-c.d/Name", true],
  [`${"p".repeat(253)}/n`, true],
  [`${"p".repeat(254)}/n`, false],
  [`example.com/${"n".repeat(63)}`, true],
  [`example.com/${"n".repeat(64)}`, false],
  ["", false],
  ["/team", false],
  ["example.com/", false],
  ["a/b/c", false],
  ["Example.com/team", false],
  ["-team", false],
  ["team.", false],
  ["te am", false],
];
for (const [key, valid] of keys) {
  Deno.test(`a metadata key ${JSON.stringify(key.slice(0, 40))} is ${valid ? "" : "not "}accepted`, () => {
    assert.equal(QUALIFIED_NAME_PATTERN.test(key), valid);
  });
}

const values: [string, boolean][] = [
  ["", true],
  ["ci", true],
  ["A-1_b.2", true],
  ["a".repeat(63), true],
  ["a".repeat(64), false],
  ["ci team", false],
  ["-ci", false],
  ["ci.", false],
  ["ci/x", false],
];
for (const [value, valid] of values) {
  Deno.test(`a label value ${JSON.stringify(value.slice(0, 40))} is ${valid ? "" : "not "}accepted`, () => {
    assert.equal(LABEL_VALUE_PATTERN.test(value), valid);
  });
}

const reserved: [string, RegExp | undefined][] = [
  ["buildkite/job-id", /keys under buildkite\/ are the plugin's own/],
  ["buildkite/plugin", /by which cleanup finds the step's Job/],
  ["buildkite/team", /keys under buildkite\//],
  ["job-name", /Job controller sets it/],
  ["controller-uid", /Job controller sets it/],
  ["batch.kubernetes.io/job-name", /Job controller sets it/],
  ["team", undefined],
  ["buildkite.com/team", undefined],
  ["cluster-autoscaler.kubernetes.io/safe-to-evict", undefined],
];
for (const [key, reason] of reserved) {
  Deno.test(`the metadata key ${key} is ${reason ? "refused" : "the pipeline's"}`, () => {
    const found = reservedKey(key);
    if (reason === undefined) assert.equal(found, undefined);
    else assert.match(found ?? "", reason);
  });
}

Deno.test("annotations are counted in bytes of keys and values, as Kubernetes counts them", () => {
  assert.equal(annotationsSize({}), 0);
  assert.equal(annotationsSize({ a: "bc", de: "" }), 5);
  assert.equal(annotationsSize({ k: "é" }), 3);
});
