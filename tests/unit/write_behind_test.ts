import assert from "node:assert/strict";
import { HIGH_WATER_BYTES, WriteBehind } from "../../src/write_behind.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A sink whose writes the test lets finish, one by one or all. */
function controlledSink(options: { most?: number } = {}) {
  const writes: string[] = [];
  const waiting: (() => void)[] = [];
  let open = false;
  const writeSome = async (bytes: Uint8Array) => {
    if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
    const count = Math.min(bytes.length, options.most ?? bytes.length);
    writes.push(decoder.decode(bytes.subarray(0, count)));
    return count;
  };
  return {
    writes,
    writeSome,
    /** Lets every write through from now on. */
    open() {
      open = true;
      waiting.splice(0).forEach((resolve) => resolve());
    },
  };
}

Deno.test("what is written while a write is under way goes out next, in one write, in order", async () => {
  const sink = controlledSink();
  const writer = new WriteBehind(sink.writeSome);
  const lines = Array.from({ length: 100 }, (_, index) => `line ${index}\n`);
  for (const line of lines) await writer.write(encoder.encode(line));
  sink.open();
  await writer.flushed();
  assert.equal(sink.writes.join(""), lines.join(""));
  assert.equal(sink.writes.length, 2);
});

Deno.test("a write waits for room once the bytes waiting reach the high-water mark", async () => {
  const sink = controlledSink();
  const writer = new WriteBehind(sink.writeSome);
  const big = new Uint8Array(HIGH_WATER_BYTES / 2 - 1);
  await writer.write(big);
  await writer.write(big);
  let written = false;
  const third = writer.write(big).then(() => written = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(written, false);
  sink.open();
  await third;
  await writer.flushed();
  assert.equal(sink.writes.join("").length, 3 * big.length);
});

Deno.test("bytes are copied when written: changing them afterwards changes nothing written", async () => {
  const sink = controlledSink();
  const writer = new WriteBehind(sink.writeSome);
  const bytes = encoder.encode("before");
  await writer.write(encoder.encode("first "));
  await writer.write(bytes);
  bytes.set(encoder.encode("AFTER!"));
  sink.open();
  await writer.flushed();
  assert.equal(sink.writes.join(""), "first before");
});

Deno.test("a sink that takes part of a write is given the rest", async () => {
  const sink = controlledSink({ most: 3 });
  sink.open();
  const writer = new WriteBehind(sink.writeSome);
  await writer.write(encoder.encode("abcdefgh"));
  await writer.flushed();
  assert.deepEqual(sink.writes, ["abc", "def", "gh"]);
});

Deno.test("a failed write fails the writes after it and the flush", async () => {
  const writer = new WriteBehind(() => Promise.reject(new Error("broken pipe")));
  await writer.write(encoder.encode("lost"));
  await assert.rejects(writer.flushed(), /broken pipe/);
  await assert.rejects(writer.write(encoder.encode("more")), /broken pipe/);
});
