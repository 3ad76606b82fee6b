import assert from "node:assert/strict";
import { LogCursor, parseTimestamp, PARTIAL_LINE_BYTES } from "../../../src/follow/log_cursor.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MIB = 1024 * 1024;

Deno.test("kubelet timestamps are read to the nanosecond, trimmed fractions too", () => {
  const time = (text: string) => parseTimestamp(encoder.encode(text));
  const second = Date.parse("2026-11-27T10:00:00Z") / 1000;
  assert.deepEqual(time("2026-11-27T10:00:00.123456789Z"), { second, nanos: 123456789 });
  assert.deepEqual(time("2026-11-27T10:00:00.5Z"), { second, nanos: 500000000 });
  assert.deepEqual(time("2026-11-27T10:00:01Z"), { second: second + 1, nanos: 0 });
  for (
    const text of ["not a time", "2026-11-27T10:00:00", "2026-11-27T10:00:00.Z", "x".repeat(25)]
  ) {
    assert.equal(time(text), undefined, text);
  }
});

/** The contents a cursor shows of complete lines, given one by one. */
function feed(cursor: LogCursor, lines: string[]): string[] {
  return lines.map((line) => decoder.decode(cursor.take(encoder.encode(`${line}\n`))))
    .filter((shown) => shown !== "").map((shown) => shown.slice(0, -1));
}

Deno.test("a resumed stream repeats nothing, even lines sharing a timestamp", () => {
  const cursor = new LogCursor();
  const first = feed(cursor, [
    "2026-11-27T10:00:00.1Z a",
    "2026-11-27T10:00:00.2Z b",
    "2026-11-27T10:00:00.2Z c",
  ]);
  assert.deepEqual(first, ["a", "b", "c"]);
  // A second before the last line shown: the kubelet gets sinceTime in whole seconds.
  assert.deepEqual(cursor.resume(), { sinceTime: "2026-11-27T09:59:59Z" });
  const second = feed(cursor, [
    "2026-11-27T10:00:00.1Z a",
    "2026-11-27T10:00:00.2Z b",
    "2026-11-27T10:00:00.2Z c",
    "2026-11-27T10:00:00.2Z d",
    "2026-11-27T10:00:01Z e",
  ]);
  assert.deepEqual(second, ["d", "e"]);
});

Deno.test("a stream cut after some of the lines sharing a timestamp resumes after exactly those", () => {
  const cursor = new LogCursor();
  const lines = ["2026-11-27T10:00:00Z x1", "2026-11-27T10:00:00Z x2", "2026-11-27T10:00:00Z x3"];
  feed(cursor, lines.slice(0, 2));
  cursor.resume();
  assert.deepEqual(feed(cursor, lines), ["x3"]);
  cursor.resume();
  assert.deepEqual(feed(cursor, lines), []);
});

Deno.test("a live stream whose times go backwards (stderr stamped before stdout) drops nothing", () => {
  const cursor = new LogCursor();
  assert.deepEqual(
    feed(cursor, [
      "2026-11-27T10:00:00.200Z out 1",
      "2026-11-27T10:00:00.100Z err 2",
      "2026-11-27T10:00:00.300Z out 3",
      // An NTP step back: still new lines.
      "2026-11-27T09:59:30Z out 4",
    ]),
    ["out 1", "err 2", "out 3", "out 4"],
  );
});

Deno.test("a line written after the last one shown but stamped a second earlier is not lost", () => {
  const cursor = new LogCursor();
  feed(cursor, ["2026-11-27T10:00:00.999Z a", "2026-11-27T10:00:01.001Z b"]);
  assert.deepEqual(cursor.resume(), { sinceTime: "2026-11-27T10:00:00Z" });
  assert.deepEqual(
    feed(cursor, [
      "2026-11-27T10:00:00.999Z a",
      "2026-11-27T10:00:01.001Z b",
      "2026-11-27T10:00:00.998Z c",
      "2026-11-27T10:00:01.002Z d",
    ]),
    ["c", "d"],
  );
});

Deno.test("a replay that starts inside what was shown (the kubelet rotated the file) skips the rest of it", () => {
  const cursor = new LogCursor();
  feed(cursor, [
    "2026-11-27T10:00:00.1Z a",
    "2026-11-27T10:00:00.2Z b",
    "2026-11-27T10:00:00.3Z c",
  ]);
  cursor.resume();
  assert.deepEqual(
    feed(cursor, [
      "2026-11-27T10:00:00.2Z b",
      "2026-11-27T10:00:00.3Z c",
      "2026-11-27T10:00:00.4Z d",
    ]),
    ["d"],
  );
  cursor.resume();
  // Nothing of what was shown is in the replay: all of it is new.
  assert.deepEqual(feed(cursor, ["2026-11-27T10:00:00.5Z e"]), ["e"]);
});

Deno.test("empty lines and lines with spaces keep their content", () => {
  const cursor = new LogCursor();
  assert.deepEqual(feed(cursor, ["2026-11-27T10:00:00Z ", "2026-11-27T10:00:01Z  two  spaces "]), [
    "",
    " two  spaces ",
  ]);
  assert.deepEqual(cursor.resume(), { sinceTime: "2026-11-27T10:00:00Z" });
});

Deno.test("a fresh cursor resumes from the start", () => {
  assert.deepEqual(new LogCursor().resume(), {});
});

Deno.test("a line without a timestamp is shown as it is", () => {
  const cursor = new LogCursor();
  assert.equal(decoder.decode(cursor.take(encoder.encode("no time here\n"))), "no time here\n");
  assert.equal(
    decoder.decode(cursor.take(encoder.encode(`${"z".repeat(50)}\n`))),
    `${"z".repeat(50)}\n`,
  );
});

/** Feeds `bytes` to `cursor` in chunks of `size`; what it showed, chunk by chunk. */
function takeInChunks(cursor: LogCursor, bytes: Uint8Array, size: number): Uint8Array[] {
  const shown: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    shown.push(cursor.take(bytes.subarray(at, at + size)));
  }
  return shown;
}

Deno.test("a line that never ends is shown in pieces: no more than 64 KiB of it is held back", () => {
  const cursor = new LogCursor();
  const line = encoder.encode(`2026-11-27T10:00:00.000000001Z ${"p".repeat(MIB)}`);
  let fed = 0;
  let shown = 0;
  for (const piece of takeInChunks(cursor, line, 16 * 1024)) {
    fed += 16 * 1024;
    shown += piece.length;
    assert.ok(Math.min(fed, line.length) - 31 - shown < PARTIAL_LINE_BYTES, `${shown} of ${fed}`);
  }
  assert.equal(shown + cursor.flush().length, MIB);
});

Deno.test("progress shown before a dropped connection is not shown again after it", () => {
  const cursor = new LogCursor();
  const show = (text: string) => decoder.decode(cursor.take(encoder.encode(text)));
  assert.equal(show("2026-11-27T10:00:00.1Z build\n2026-11-27T10:00:00.2Z 10%\r"), "build\n");
  assert.equal(decoder.decode(cursor.flush()), "10%\r");
  assert.equal(show("20%\r"), "");
  assert.equal(decoder.decode(cursor.flush()), "20%\r");
  assert.deepEqual(cursor.resume(), { sinceTime: "2026-11-27T09:59:59Z" });
  assert.equal(
    show("2026-11-27T10:00:00.1Z build\n2026-11-27T10:00:00.2Z 10%\r20%\r30%\r"),
    "",
  );
  assert.equal(decoder.decode(cursor.flush()), "30%\r");
  assert.equal(show("done\n2026-11-27T10:00:01Z next\n"), "done\nnext\n");
});

Deno.test("a long line shown in part before a dropped connection is shown once, whole, after it", () => {
  const cursor = new LogCursor();
  const start = `2026-11-27T10:00:00.5Z ${"a".repeat(100_000)}`;
  const shownBefore = takeInChunks(cursor, encoder.encode(start), 16 * 1024);
  const before = shownBefore.reduce((length, piece) => length + piece.length, 0);
  assert.ok(before >= 100_000 - PARTIAL_LINE_BYTES, `${before} shown before the cut`);
  cursor.resume();
  const whole = encoder.encode(`${start}${"b".repeat(10)}\n2026-11-27T10:00:01Z next\n`);
  const after = decoder.decode(
    Uint8Array.from(takeInChunks(cursor, whole, 16 * 1024).flatMap((piece) => [...piece])),
  );
  assert.equal(after, `${"a".repeat(100_000 - before)}${"b".repeat(10)}\nnext\n`);
});

Deno.test("the rest of a long line stamped before the resumed second is not shown again", () => {
  const cursor = new LogCursor();
  // containerd stamped the line's first record at 10:00:00 and its last at 10:00:02.
  feed(cursor, ["2026-11-27T10:00:00.9Z aaaabbbb", "2026-11-27T10:00:02.5Z after"]);
  assert.deepEqual(cursor.resume(), { sinceTime: "2026-11-27T10:00:01Z" });
  // The kubelet leaves out the record stamped before sinceTime, and stamps only a line's first.
  assert.deepEqual(
    feed(cursor, ["bbbb", "2026-11-27T10:00:02.5Z after", "2026-11-27T10:00:03Z new"]),
    [
      "new",
    ],
  );
});

Deno.test("the rest of a long stderr line stamped a second earlier is not shown again in a replay", () => {
  const cursor = new LogCursor();
  // stderr's clock ran behind: its long line's first record is stamped before stdout's line.
  feed(cursor, [
    "2026-11-27T10:00:01.1Z out",
    "2026-11-27T09:59:59.9Z err-aaaa-bbbb",
    "2026-11-27T10:00:02.5Z out again",
  ]);
  assert.deepEqual(cursor.resume(), { sinceTime: "2026-11-27T10:00:01Z" });
  assert.deepEqual(
    feed(cursor, [
      "2026-11-27T10:00:01.1Z out",
      "bbbb",
      "2026-11-27T10:00:02.5Z out again",
      "2026-11-27T10:00:03Z new",
    ]),
    ["new"],
  );
});

Deno.test("a resumed log that starts after the last line shown tells when lines may be missing", () => {
  const cursor = new LogCursor();
  feed(cursor, ["2026-11-27T10:00:00.1Z a", "2026-11-27T10:00:00.2Z b"]);
  cursor.resume();
  // The usual replay, from the second before b: nothing missing.
  assert.deepEqual(feed(cursor, ["2026-11-27T10:00:00.2Z b", "2026-11-27T10:00:03Z c"]), ["c"]);
  assert.equal(cursor.takeGap(), undefined);
  cursor.resume();
  // The kubelet rotated the file holding c and the lines after it: the current one begins later.
  assert.deepEqual(feed(cursor, ["2026-11-27T10:00:09.5Z x", "2026-11-27T10:00:10Z y"]), [
    "x",
    "y",
  ]);
  assert.deepEqual(cursor.takeGap(), {
    after: { second: Date.parse("2026-11-27T10:00:03Z") / 1000, nanos: 0 },
    afterComplete: true,
    before: { second: Date.parse("2026-11-27T10:00:09Z") / 1000, nanos: 500_000_000 },
  });
  assert.equal(cursor.takeGap(), undefined, "told once");
});

Deno.test("a replay that starts inside what was shown tells of no missing lines", () => {
  const cursor = new LogCursor();
  feed(cursor, ["2026-11-27T10:00:00.1Z a", "2026-11-27T10:00:00.2Z b"]);
  cursor.resume();
  // The file was rotated after a: all that followed it is in the current file.
  assert.deepEqual(feed(cursor, ["2026-11-27T10:00:00.2Z b", "2026-11-27T10:00:00.3Z c"]), ["c"]);
  assert.equal(cursor.end().length, 0);
  assert.equal(cursor.takeGap(), undefined);
});

for (const count of [10_000, 20_000]) {
  Deno.test(`a replay of a second holding ${count} lines repeats none of them`, () => {
    const cursor = new LogCursor();
    const lines = Array.from(
      { length: count },
      (_, index) => `2026-11-27T10:00:00.${String(index * 10).padStart(9, "0")}Z line ${index}`,
    );
    const log = encoder.encode(lines.map((line) => `${line}\n`).join(""));
    assert.equal(decoder.decode(cursor.take(log)).split("\n").length, count + 1);
    assert.deepEqual(cursor.resume(), { sinceTime: "2026-11-27T09:59:59Z" });
    const more = encoder.encode("2026-11-27T10:00:01Z after\n");
    assert.equal(decoder.decode(cursor.take(log)) + decoder.decode(cursor.take(more)), "after\n");
    assert.equal(cursor.takeGap(), undefined);
  });
}

Deno.test("what a read shows stays as it was after the reads that follow (a sidecar's log keeps it)", () => {
  const cursor = new LogCursor();
  const first = cursor.take(encoder.encode("2026-11-27T10:00:00Z first\n"));
  cursor.take(encoder.encode("2026-11-27T10:00:01Z other\n"));
  assert.equal(decoder.decode(first), "first\n");
});
