import assert from "node:assert/strict";
import { ContainerLog, type LogReadOptions, readContainerLog } from "./container_log.ts";

const ALL: LogReadOptions = { follow: false, timestamps: false, stream: "All" };
const TIMESTAMPED_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (.*)$/;

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
}

async function read(log: ContainerLog, options: Partial<LogReadOptions> = {}): Promise<string> {
  const stream = readContainerLog(log, { ...ALL, ...options }, new AbortController().signal);
  return await new Response(stream).text();
}

async function withLog(body: (log: ContainerLog) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const log = await ContainerLog.create(`${dir}/0.log`);
  try {
    await body(log);
  } finally {
    await log.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a log keeps lines split across chunks and both streams", async () => {
  await withLog(async (log) => {
    await log.pump(streamOf("one\ntw", "o\nthree"), "stdout");
    await log.pump(streamOf("oops\n"), "stderr");
    await log.close();
    assert.equal(await read(log), "one\ntwo\nthree\noops\n");
    assert.equal(await read(log, { stream: "Stderr" }), "oops\n");
    const records = (await Deno.readTextFile(log.path)).trimEnd().split("\n");
    assert.equal(records.length, 4);
    assert.match(records[3], /^\S+Z stderr F oops$/);
  });
});

Deno.test("a log answers timestamps, tailLines, since and limitBytes like the kubelet", async () => {
  await withLog(async (log) => {
    for (const line of ["a", "b", "c", "d"]) await log.pump(streamOf(`${line}\n`), "stdout");
    await log.close();
    const stamped = (await read(log, { timestamps: true })).trimEnd().split("\n");
    assert.deepEqual(stamped.map((line) => TIMESTAMPED_LINE.exec(line)?.[1]), ["a", "b", "c", "d"]);
    assert.equal(await read(log, { tailLines: 2 }), "c\nd\n");
    assert.equal(await read(log, { tailLines: 0 }), "");
    assert.equal(await read(log, { tailLines: 10 }), "a\nb\nc\nd\n");
    const third = stamped[2].slice(0, stamped[2].indexOf(" "));
    assert.equal(await read(log, { since: third }), "c\nd\n");
    assert.equal(await read(log, { limitBytes: 3 }), "a\nb");
  });
});

Deno.test("a line longer than a record is written in parts and read back whole", async () => {
  await withLog(async (log) => {
    const long = "x".repeat(40_000);
    await log.pump(streamOf(long.slice(0, 20_000), `${long.slice(20_000)}\nshort\n`), "stdout");
    await log.close();
    const tags = (await Deno.readTextFile(log.path)).trimEnd().split("\n")
      .map((record) => record.split(" ")[2]);
    assert.deepEqual(tags, ["P", "P", "P", "F", "F"]);
    assert.equal(await read(log), `${long}\nshort\n`);
    const stamped = (await read(log, { timestamps: true })).trimEnd().split("\n");
    assert.equal(TIMESTAMPED_LINE.exec(stamped[0])?.[1], long);
  });
});

Deno.test("a follower gets each line as it is written and ends when the log closes", async () => {
  await withLog(async (log) => {
    const reader = readContainerLog(log, { ...ALL, follow: true }, new AbortController().signal)
      .pipeThrough(new TextDecoderStream()).getReader();
    const writer = new TransformStream<Uint8Array, Uint8Array>();
    const pumping = log.pump(writer.readable, "stdout");
    const input = writer.writable.getWriter();
    const encoder = new TextEncoder();
    await input.write(encoder.encode("first\n"));
    assert.equal((await reader.read()).value, "first\n");
    await input.write(encoder.encode("second\n"));
    assert.equal((await reader.read()).value, "second\n");
    await input.close();
    await pumping;
    await log.close();
    assert.equal((await reader.read()).done, true);
  });
});

Deno.test("a 50 MB log of 100,000 lines is read whole and tailed quickly", async () => {
  await withLog(async (log) => {
    const line = `${"y".repeat(499)}\n`;
    const chunk = line.repeat(1000);
    const chunks = Array.from({ length: 100 }, () => chunk);
    await log.pump(streamOf(...chunks), "stdout");
    await log.close();
    let started = performance.now();
    const stream = readContainerLog(
      log,
      { ...ALL, timestamps: true },
      new AbortController().signal,
    );
    let bytes = 0;
    let lines = 0;
    for await (const part of stream) {
      bytes += part.length;
      for (const byte of part) if (byte === 10) lines++;
    }
    const wholeMs = performance.now() - started;
    assert.equal(lines, 100_000);
    assert.equal(bytes, 100_000 * (500 + 31));
    started = performance.now();
    assert.equal(await read(log, { tailLines: 3 }), line.repeat(3));
    const tailMs = performance.now() - started;
    assert.ok(wholeMs < 5_000, `reading took ${wholeMs} ms`);
    assert.ok(tailMs < 200, `tailing took ${tailMs} ms`);
  });
});
