import assert from "node:assert/strict";
import { parseQuantity } from "../../../src/config/quantity.ts";

Deno.test("parseQuantity reads the suffixes a pod spec uses", () => {
  const cases: [string, number][] = [
    ["1", 1],
    ["500m", 0.5],
    ["2", 2],
    ["128Mi", 134217728],
    ["1Gi", 1073741824],
    ["1.5Gi", 1610612736],
    ["100M", 1e8],
    ["64k", 64000],
    ["2e3", 2000],
    ["0.25", 0.25],
  ];
  for (const [input, expected] of cases) assert.equal(parseQuantity(input), expected, input);
});

Deno.test("parseQuantity rejects what is not a quantity", () => {
  for (const input of ["", "abc", "1.2.3", "5 Mi", "10XB"]) {
    assert.throws(() => parseQuantity(input), /quantities must match/, input);
  }
});
