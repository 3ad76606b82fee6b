import assert from "node:assert/strict";
import { bigLogErrors, type BigLogTally, LogTally } from "./big_log.ts";
import { BIG_LINE_BYTES, BIG_LINE_FILLER } from "./steps.ts";

function line(number: number): string {
  return `big-${String(number).padStart(7, "0")} ${BIG_LINE_FILLER}\n`;
}

const START = "bench-start 1700000000000000000\n";
const END = "bench-end 1700000002000000000\n";

const tallies: { name: string; pieces: string[]; expected: Partial<BigLogTally> }[] = [
  {
    name: "every line once, cut anywhere between pieces",
    pieces: [START + line(1) + line(2).slice(0, 30), line(2).slice(30) + line(3), END],
    expected: { distinct: 3, lost: 0, duplicated: 0, garbled: 0, bytes: 3 * BIG_LINE_BYTES },
  },
  {
    name: "a line twice, a line missing, one cut short, one out of range",
    pieces: [line(1), line(1), line(3).slice(0, 50) + "\n", line(4)],
    expected: { distinct: 1, lost: 2, duplicated: 1, garbled: 2, bytes: 2 * BIG_LINE_BYTES },
  },
  {
    name: "the plugin's own lines are not the log's; its gap notes are counted",
    pieces: [
      "~~~ :kubernetes: Running\n",
      "kubernetes plugin: lines of step written after 12:00:00 may be missing: rotated\n",
      line(2),
      line(3),
    ],
    expected: { distinct: 2, lost: 1, garbled: 0, gapsTold: 1 },
  },
  {
    name: "a last line without its newline is counted",
    pieces: [line(1), line(2), line(3).slice(0, -1)],
    expected: { distinct: 3, lost: 0, garbled: 0 },
  },
];
for (const { name, pieces, expected } of tallies) {
  Deno.test(`LogTally: ${name}`, () => {
    const tally = new LogTally(3);
    pieces.forEach((piece, index) => tally.add(piece, 1000 + index));
    const result = tally.result();
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(result[key as keyof BigLogTally], value, key);
    }
  });
}

Deno.test("LogTally: when lines arrived, and the container's clock before and after", () => {
  const tally = new LogTally(2);
  tally.add("~~~ :kubernetes: Running\n" + START, 10);
  tally.add(line(1), 20);
  tally.add(line(2) + END, 35);
  const result = tally.result();
  assert.equal(result.firstLineAt, 20);
  assert.equal(result.lastLineAt, 35);
  assert.equal(result.containerStart, 1_700_000_000_000);
  assert.equal(result.containerEnd, 1_700_000_002_000);
});

const whole: BigLogTally = {
  expected: 10,
  distinct: 10,
  lost: 0,
  duplicated: 0,
  garbled: 0,
  bytes: 1000,
  gapsTold: 0,
  containerEnd: 1,
};
const verdicts: {
  name: string;
  tally: BigLogTally;
  hook?: { status: number; timedOut: boolean };
  errors: string[];
}[] = [
  { name: "everything arrived", tally: whole, errors: [] },
  {
    name: "lines lost with no gap told fail the run",
    tally: { ...whole, distinct: 7, lost: 3 },
    errors: ["3 of 10 lines lost, and no gap was told"],
  },
  {
    name: "lines lost after a gap the plugin told are a figure, not a failure",
    tally: { ...whole, distinct: 7, lost: 3, gapsTold: 1 },
    errors: [],
  },
  {
    name: "a killed hook without its log's end",
    tally: { ...whole, containerEnd: undefined },
    hook: { status: 137, timedOut: true },
    errors: [
      "the command hook was killed at its time limit",
      "the command hook exited 137",
      "the end of the step's log never arrived",
    ],
  },
  {
    name: "duplicated and garbled lines",
    tally: { ...whole, duplicated: 2, garbled: 1 },
    errors: ["2 lines printed again", "1 lines garbled"],
  },
];
for (const { name, tally, hook, errors } of verdicts) {
  Deno.test(`bigLogErrors: ${name}`, () => {
    assert.deepEqual(bigLogErrors(tally, hook ?? { status: 0, timedOut: false }), errors);
  });
}
