import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { followLog, LogCursor, normaliseTimestamp } from "../../../src/follow/logs.ts";
import type { Api } from "../../../src/kube/client.ts";

Deno.test("timestamps with trimmed fractions compare in time order", () => {
  const a = normaliseTimestamp("2026-11-27T10:00:00.5Z")!;
  const b = normaliseTimestamp("2026-11-27T10:00:00.123456789Z")!;
  const c = normaliseTimestamp("2026-11-27T10:00:01Z")!;
  assert.ok(b < a && a < c);
  assert.equal(normaliseTimestamp("not a time"), undefined);
});

function feed(cursor: LogCursor, lines: string[]): string[] {
  return lines.map((line) => cursor.accept(line)).filter((content): content is string =>
    content !== undefined
  );
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

Deno.test("a followed log still open after its container ended is replaced by a read of the rest", async () => {
  const requests: Record<string, unknown>[] = [];
  let terminate!: () => void;
  const whenTerminated = new Promise<void>((resolve) => terminate = resolve);
  let terminated = false;
  const api = {
    stream(_path: string, options: { query: Record<string, unknown>; signal: AbortSignal }) {
      requests.push(options.query);
      if (options.query.follow) {
        // Stalled: one line, then nothing and no end, as over a connection gone silent.
        const body = new Readable({ read() {} });
        body.push("2026-11-27T10:00:00.000000001Z first\n");
        options.signal.addEventListener("abort", () => body.destroy(new Error("aborted")));
        setTimeout(() => {
          terminated = true;
          terminate();
        }, 10);
        return Promise.resolve({ status: 200, body });
      }
      return Promise.resolve({
        status: 200,
        body: Readable.from([
          new TextEncoder().encode(
            "2026-11-27T10:00:00.000000001Z first\n2026-11-27T10:00:00.000000002Z last\n",
          ),
        ]),
      });
    },
  };
  const written: string[] = [];
  const end = await followLog({
    api: api as unknown as Api,
    namespace: "ns",
    pod: "p",
    container: "step",
    progress: { started: Promise.resolve(), terminated: () => terminated, whenTerminated },
    write: (text) => {
      written.push(text);
      return Promise.resolve();
    },
    signal: new AbortController().signal,
    endedStreamGraceMs: 50,
  });
  assert.equal(end, "complete");
  assert.equal(written.join(""), "first\nlast\n");
  assert.deepEqual(requests.map((query) => [query.follow, query.sinceTime]), [
    [true, undefined],
    [false, "2026-11-27T09:59:59Z"],
  ]);
});
