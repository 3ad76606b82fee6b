import assert from "node:assert/strict";
import { inOrder } from "./scenarios.ts";

const orders: { plugins: string[]; expected: string[][] }[] = [
  { plugins: ["ours"], expected: [["ours"], ["ours"], ["ours"]] },
  {
    plugins: ["ours", "baseline"],
    expected: [["ours", "baseline"], ["baseline", "ours"], ["ours", "baseline"]],
  },
  {
    plugins: ["ours", "baseline", "before"],
    expected: [
      ["ours", "baseline", "before"],
      ["baseline", "before", "ours"],
      ["before", "ours", "baseline"],
      ["ours", "baseline", "before"],
    ],
  },
];
for (const { plugins, expected } of orders) {
  Deno.test(`inOrder: ${plugins.join(", ")} take turns to go first`, () => {
    const given = [...plugins];
    const runs = expected.map((_, index) => inOrder(plugins, index + 1));
    assert.deepEqual(runs, expected);
    assert.deepEqual(plugins, given, "the list given is left as it was");
  });
}

Deno.test("inOrder: over as many repetitions as plugins, each goes first once and runs each time", () => {
  const plugins = ["ours", "baseline", "before"];
  const runs = [1, 2, 3].map((repetition) => inOrder(plugins, repetition));
  assert.deepEqual(runs.map((order) => order[0]).sort(), [...plugins].sort());
  for (const order of runs) assert.deepEqual([...order].sort(), [...plugins].sort());
});
