/** Putting a job log back together from chunks that arrive in any order. */
import assert from "node:assert/strict";
import { ChunkedLog, type LogHole } from "./log_chunks.ts";

const encoder = new TextEncoder();

/** Chunks of "one\ntwo\nthree\n" as the agent cuts it: [sequence, offset, text]. */
const CHUNKS: [number, number, string][] = [[1, 0, "one\n"], [2, 4, "two\n"], [3, 8, "three\n"]];

const cases: { name: string; order: number[]; prefix: string; holes: LogHole[] }[] = [
  { name: "in order", order: [0, 1, 2], prefix: "one\ntwo\nthree\n", holes: [] },
  { name: "last first", order: [2, 1, 0], prefix: "one\ntwo\nthree\n", holes: [] },
  { name: "middle missing", order: [2, 0], prefix: "one\n", holes: [{ start: 4, end: 8 }] },
  { name: "first missing", order: [1, 2], prefix: "", holes: [{ start: 0, end: 4 }] },
  { name: "a retried chunk once", order: [0, 1, 1, 2], prefix: "one\ntwo\nthree\n", holes: [] },
];

for (const { name, order, prefix, holes } of cases) {
  Deno.test(`log chunks ${name}: prefix ${JSON.stringify(prefix)}`, () => {
    const log = new ChunkedLog();
    for (const index of order) {
      const [sequence, offset, text] = CHUNKS[index];
      log.add({ sequence, offset, bytes: encoder.encode(text) });
    }
    assert.equal(new TextDecoder().decode(log.prefix()), prefix);
    assert.deepEqual(log.holes(), holes);
  });
}

Deno.test("a chunk overlapping another with different bytes is refused, naming both", () => {
  const log = new ChunkedLog();
  log.add({ sequence: 1, offset: 0, bytes: encoder.encode("one\n") });
  assert.throws(
    () => log.add({ sequence: 2, offset: 2, bytes: encoder.encode("XX\n") }),
    /chunk 2 \(bytes 2-5\) overlaps chunk 1 \(bytes 0-4\)/,
  );
});
