import assert from "node:assert/strict";
import {
  BLOCK_LINES,
  DETAILED_LINES,
  LineSpans,
  ShownLines,
} from "../../../src/follow/shown_lines.ts";

const SECOND = Date.parse("2026-11-27T10:00:00Z") / 1000;

/** The lines of `spans`, in order. */
const all = (spans: LineSpans) => Array.from({ length: spans.length }, (_, at) => spans.at(at));

/** Adds `count` complete lines stamped in `second`, each `n` bytes long with hash `n`. */
function addLines(store: ShownLines, second: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => {
    const line = store.add(second, index, 0);
    store.update(line, index, index, true);
    return line;
  });
}

Deno.test("every line of a second keeps its hash and length while they are among the newest, however many", () => {
  const store = new ShownLines();
  const lines = addLines(store, SECOND, DETAILED_LINES);
  for (const [index, line] of lines.entries()) {
    assert.deepEqual(store.shown(line), { head: index, length: index, complete: true }, `${line}`);
    assert.ok(store.stamped(line, SECOND, index));
  }
});

Deno.test("older lines keep their timestamp alone", () => {
  const store = new ShownLines();
  const lines = addLines(store, SECOND, DETAILED_LINES + 10);
  assert.equal(store.shown(lines[9]), undefined);
  assert.deepEqual(store.time(lines[9]), { second: SECOND, nanos: 9 });
  assert.deepEqual(store.shown(lines[10]), { head: 10, length: 10, complete: true });
});

Deno.test("lines are kept from the second before the newest line's, and the replay of a second is theirs", () => {
  const store = new ShownLines();
  addLines(store, SECOND, 3);
  const previous = addLines(store, SECOND + 1, 2);
  const straggler = store.add(SECOND, 99, 0);
  const newest = addLines(store, SECOND + 2, 2);
  // Lines of SECOND went as SECOND + 2 began; the straggler stays behind lines of SECOND + 1.
  assert.equal(store.size, 5);
  assert.deepEqual(all(store.since(SECOND + 1)), [...previous, ...newest]);
  assert.deepEqual(all(store.since(SECOND)), [...previous, straggler, ...newest]);
  assert.deepEqual(all(store.since(SECOND + 2)), newest);
});

Deno.test("a steady log reuses the blocks let go", () => {
  const store = new ShownLines();
  for (let second = 0; second < 6; second++) addLines(store, SECOND + second, 3 * BLOCK_LINES);
  assert.ok(store.blocks <= 7, `${store.blocks} blocks`);
  assert.equal(store.size, 6 * BLOCK_LINES);
});

Deno.test("a line shown past 2 GiB without a newline keeps its whole length", () => {
  const store = new ShownLines();
  const line = store.add(SECOND, 0, 0);
  store.update(line, 7, 5 * 2 ** 30, false);
  assert.deepEqual(store.shown(line), { head: 7, length: 5 * 2 ** 30, complete: false });
});

Deno.test("spans of lines give each line by its position, asked for in any order", () => {
  const spans = new LineSpans([10, 20, 40], [13, 21, 42]);
  const expected = [10, 11, 12, 20, 40, 41];
  assert.equal(spans.length, expected.length);
  assert.deepEqual(all(spans), expected);
  for (const at of [5, 0, 3, 4, 1, 5, 2]) assert.equal(spans.at(at), expected[at], `at ${at}`);
  assert.throws(() => spans.at(6), RangeError);
});
