import assert from "node:assert/strict";
import { expandVariables } from "./env_expansion.ts";

Deno.test("expandVariables behaves like the kubelet's expansion", () => {
  const vars = new Map([["A", "alpha"], ["B", "beta"], ["EMPTY", ""]]);
  const service = new Map([["A", "shadowed"], ["S", "service"]]);
  const cases: [string, string][] = [
    ["$(A)", "alpha"],
    ["x-$(A)-$(B)-y", "x-alpha-beta-y"],
    ["$(S)", "service"],
    ["$(EMPTY)!", "!"],
    ["$(MISSING)", "$(MISSING)"],
    ["$$(A)", "$(A)"],
    ["$$$(A)", "$alpha"],
    ["$(A", "$(A"],
    ["$A", "$A"],
    ["cost: 5$", "cost: 5$"],
    ["$()", "$()"],
    ["", ""],
  ];
  for (const [input, expected] of cases) {
    assert.equal(expandVariables(input, vars, service), expected, input);
  }
});
