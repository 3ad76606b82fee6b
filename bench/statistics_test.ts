import assert from "node:assert/strict";
import { median, ratio, summarize } from "./statistics.ts";

const medians: { values: number[]; expected: number }[] = [
  { values: [3], expected: 3 },
  { values: [5, 1, 3], expected: 3 },
  { values: [4, 1, 3, 2], expected: 2.5 },
  { values: [10, 10, 1, 10, 100], expected: 10 },
];
for (const { values, expected } of medians) {
  Deno.test(`median of ${JSON.stringify(values)} is ${expected}`, () => {
    assert.equal(median(values), expected);
  });
}

Deno.test("median of nothing is an error", () => {
  assert.throws(() => median([]), /no values/);
});

Deno.test("summarize gives median, min, max and count, ignoring values that are not finite", () => {
  assert.deepEqual(summarize([2, NaN, 9, 4, Infinity]), { median: 4, min: 2, max: 9, count: 3 });
});

Deno.test("summarize of nothing measured is undefined", () => {
  assert.equal(summarize([]), undefined);
  assert.equal(summarize([NaN]), undefined);
});

const ratios: {
  name: string;
  baseline: number | undefined;
  ours: number | undefined;
  expected: number | undefined;
}[] = [
  { name: "baseline over ours", baseline: 6, ours: 2, expected: 3 },
  { name: "ours larger", baseline: 1, ours: 4, expected: 0.25 },
  { name: "ours zero", baseline: 5, ours: 0, expected: undefined },
  { name: "no baseline", baseline: undefined, ours: 2, expected: undefined },
  { name: "both zero", baseline: 0, ours: 0, expected: undefined },
];
for (const { name, baseline, ours, expected } of ratios) {
  Deno.test(`ratio: ${name}`, () => {
    assert.equal(ratio(baseline, ours), expected);
  });
}
