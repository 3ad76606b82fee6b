import assert from "node:assert/strict";
import { checkNumberedLines, endTime } from "./log_fidelity.ts";

const lines = (...numbers: number[]) =>
  numbers.map((number) => `line-${String(number).padStart(6, "0")}`).join("\n");

const cases: {
  name: string;
  output: string;
  expected: number;
  result: { distinct: number; lost: number; duplicated: number; garbled: number };
}[] = [
  {
    name: "every line once, among other output",
    output: `~~~ Creating Job\n${lines(1, 2, 3)}\nbench-end 1700000000000000000\n`,
    expected: 3,
    result: { distinct: 3, lost: 0, duplicated: 0, garbled: 0 },
  },
  {
    name: "a restarted stream printed from the beginning",
    output: `${lines(1, 2, 3)}\n${lines(1, 2, 3, 4)}`,
    expected: 4,
    result: { distinct: 4, lost: 0, duplicated: 3, garbled: 0 },
  },
  {
    name: "a cut-off end",
    output: lines(1, 2),
    expected: 5,
    result: { distinct: 2, lost: 3, duplicated: 0, garbled: 0 },
  },
  {
    name: "lines run together or cut in half",
    output: `line-000001line-000002\nline-00\n${lines(3)}`,
    expected: 3,
    result: { distinct: 1, lost: 2, duplicated: 0, garbled: 2 },
  },
  {
    name: "numbers beyond the expected ones",
    output: lines(1, 2, 7),
    expected: 2,
    result: { distinct: 2, lost: 0, duplicated: 0, garbled: 1 },
  },
  {
    name: "numbers of more than six digits",
    output: lines(1000000),
    expected: 1000000,
    result: { distinct: 1, lost: 999999, duplicated: 0, garbled: 0 },
  },
];
for (const { name, output, expected, result } of cases) {
  Deno.test(`checkNumberedLines: ${name}`, () => {
    assert.deepEqual(checkNumberedLines(output, expected), { expected, ...result });
  });
}

Deno.test("endTime reads the last end marker's nanoseconds as milliseconds", () => {
  assert.equal(
    endTime("bench-end 1700000000000000000\nx\nbench-end 1700000001234567891\n"),
    1700000001234.567,
  );
});

Deno.test("endTime is undefined without a whole end marker line", () => {
  assert.equal(endTime("line-000001\n"), undefined);
  assert.equal(endTime("echo bench-end 1700000000000000000\n"), undefined);
});
