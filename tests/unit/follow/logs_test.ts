import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { followLog, type FollowLogOptions } from "../../../src/follow/logs.ts";
import type { Api } from "../../../src/kube/client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MIB = 1024 * 1024;

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
    write: (bytes) => {
      written.push(decoder.decode(bytes));
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

/** A scripted kubelet: the n-th request for the log gets the n-th answer. */
function scriptedApi(answers: ((query: Record<string, unknown>) => Readable)[]) {
  const queries: Record<string, unknown>[] = [];
  const api = {
    stream(_path: string, options: { query: Record<string, unknown> }) {
      queries.push(options.query);
      const answer = answers[queries.length - 1];
      if (!answer) throw new Error(`unexpected request ${JSON.stringify(options.query)}`);
      return Promise.resolve({ status: 200, body: answer(options.query) });
    },
  };
  return { api: api as unknown as Api, queries };
}

/** A container whose end the test decides. */
function container() {
  let terminated = false;
  let terminate!: () => void;
  const whenTerminated = new Promise<void>((resolve) => terminate = resolve);
  return {
    progress: { started: Promise.resolve(), terminated: () => terminated, whenTerminated },
    end() {
      terminated = true;
      terminate();
    },
  };
}

function chunked(bytes: Uint8Array, size = 16 * 1024): Readable {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
}

function follow(
  api: Api,
  progress: FollowLogOptions["progress"],
  write: (bytes: Uint8Array) => void,
  options: Partial<FollowLogOptions> = {},
) {
  return followLog({
    api,
    namespace: "ns",
    pod: "p",
    container: "step",
    progress,
    write: (bytes) => {
      write(bytes);
      return Promise.resolve();
    },
    signal: new AbortController().signal,
    ...options,
  });
}

Deno.test("a step printing an 8 MiB line without a break is followed in well under a second", async () => {
  const line = encoder.encode(`2026-11-27T10:00:00.000000001Z ${"x".repeat(8 * MIB)}\n`);
  const { api } = scriptedApi([() => chunked(line)]);
  const step = container();
  step.end();
  let shown = 0;
  const started = performance.now();
  const end = await follow(api, step.progress, (bytes) => shown += bytes.length);
  const elapsed = performance.now() - started;
  assert.equal(end, "complete");
  assert.equal(shown, 8 * MIB + 1);
  // Rescanning everything held at each chunk took 3 s here.
  assert.ok(elapsed < 1000, `${elapsed.toFixed(0)} ms`);
});

Deno.test("progress redrawn with \\r shows before its newline comes", async () => {
  const live = new Readable({ read() {} });
  const { api } = scriptedApi([
    () => live,
    () => chunked(encoder.encode("2026-11-27T10:00:00.000000001Z 10%\r20%\r30%\n")),
  ]);
  const step = container();
  const written: string[] = [];
  let progressShown!: () => void;
  const shownBeforeNewline = new Promise<void>((resolve) => progressShown = resolve);
  const following = follow(api, step.progress, (bytes) => {
    written.push(decoder.decode(bytes));
    if (written.join("") === "10%\r20%\r") progressShown();
  }, { partialLineWaitMs: 50 });
  live.push(encoder.encode("2026-11-27T10:00:00.000000001Z 10%\r"));
  live.push(encoder.encode("20%\r"));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<void>((resolve) => timer = setTimeout(resolve, 2000));
  await Promise.race([shownBeforeNewline, gaveUp]);
  clearTimeout(timer);
  const before = written.join("");
  live.push(encoder.encode("30%\n"));
  step.end();
  live.push(null);
  assert.equal(await following, "complete");
  assert.equal(before, "10%\r20%\r");
  assert.equal(written.join(""), "10%\r20%\r30%\n");
});

Deno.test("a long line cut by a dropped connection shows as it comes, and once", async () => {
  const start = `2026-11-27T10:00:00.1Z first\n2026-11-27T10:00:00.2Z ${"a".repeat(100_000)}`;
  const whole = encoder.encode(`${start}${"b".repeat(10)}\n`);
  const cut = new Readable({ read() {} });
  const step = container();
  const { api, queries } = scriptedApi([
    () => cut,
    () => {
      step.end();
      return chunked(whole);
    },
    () => chunked(whole),
  ]);
  let shownBeforeCut = 0;
  const written: Uint8Array[] = [];
  cut.push(encoder.encode(start));
  // Cut once all that came is shown, or after a second whatever was shown.
  const cutAt = setTimeout(() => cut.destroy(new Error("connection reset")), 1000);
  const end = await follow(api, step.progress, (bytes) => {
    written.push(bytes);
    if (queries.length === 1) shownBeforeCut += bytes.length;
    if (shownBeforeCut === "first\n".length + 100_000) cut.destroy(new Error("connection reset"));
  });
  clearTimeout(cutAt);
  assert.equal(end, "complete");
  assert.equal(
    decoder.decode(Uint8Array.from(written.flatMap((bytes) => [...bytes]))),
    `first\n${"a".repeat(100_000)}${"b".repeat(10)}\n`,
  );
  assert.equal(shownBeforeCut, "first\n".length + 100_000);
  assert.deepEqual(queries.map((query) => [query.follow, query.sinceTime]), [
    [true, undefined],
    [true, "2026-11-27T09:59:59Z"],
    [false, "2026-11-27T09:59:59Z"],
  ]);
});

Deno.test("bytes that are not UTF-8 reach the build log as the container wrote them", async () => {
  const content = [0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xfe, 0x20, 0xc3, 0xa9, 0x0a];
  const log = Uint8Array.from([...encoder.encode("2026-11-27T10:00:00Z "), ...content]);
  // Cut inside the two bytes of a UTF-8 é, as a read may be.
  const { api } = scriptedApi([() => chunked(log, log.length - 2)]);
  const step = container();
  step.end();
  const written: number[] = [];
  assert.equal(await follow(api, step.progress, (bytes) => written.push(...bytes)), "complete");
  assert.deepEqual(written, content);
});

Deno.test("lines rotated away while the log stream was down are said missing in the build log, where they were", async () => {
  const cut = new Readable({ read() {} });
  const step = container();
  const rotated = "2026-11-27T10:00:07.25Z e\n2026-11-27T10:00:08Z f\n";
  const { api, queries } = scriptedApi([
    () => cut,
    () => {
      step.end();
      return chunked(encoder.encode(rotated));
    },
    () => chunked(encoder.encode(rotated)),
  ]);
  const written: string[] = [];
  cut.push(encoder.encode("2026-11-27T10:00:00.1Z a\n2026-11-27T10:00:00.2Z b\n"));
  const end = await follow(api, step.progress, (bytes) => {
    written.push(decoder.decode(bytes));
    if (written.join("") === "a\nb\n") cut.destroy(new Error("connection reset"));
  });
  assert.equal(end, "complete");
  assert.equal(
    written.join(""),
    "a\nb\nkubernetes plugin: lines of step written after 2026-11-27T10:00:00.200000000Z and " +
      "before 2026-11-27T10:00:07.250000000Z may be missing: the log stream was resumed after " +
      "the kubelet rotated its log file, and it serves only the current file\ne\nf\n",
  );
  assert.deepEqual(queries.map((query) => [query.follow, query.sinceTime]), [
    [true, undefined],
    [true, "2026-11-27T09:59:59Z"],
    [false, "2026-11-27T10:00:07Z"],
  ]);
});

Deno.test("a late read of a log whose current file is empty says the lines after the last one shown may be missing", async () => {
  const cut = new Readable({ read() {} });
  const step = container();
  const { api, queries } = scriptedApi([() => cut, () => chunked(new Uint8Array(0))]);
  const written: string[] = [];
  cut.push(encoder.encode("2026-11-27T10:00:00.1Z a\n2026-11-27T10:00:00.2Z b"));
  const end = await follow(api, step.progress, (bytes) => {
    written.push(decoder.decode(bytes));
    if (written.join("") === "a\nb") {
      step.end();
      cut.destroy(new Error("connection reset"));
    }
  }, { partialLineWaitMs: 20 });
  assert.equal(end, "complete");
  // b was shown without its newline: the note begins a line of its own.
  assert.equal(
    written.join(""),
    "a\nb\nkubernetes plugin: lines of step written after 2026-11-27T10:00:00.200000000Z may be " +
      "missing: the log stream was resumed after the kubelet rotated its log file, and it serves " +
      "only the current file\n",
  );
  assert.deepEqual(queries.map((query) => [query.follow, query.sinceTime]), [
    [true, undefined],
    [false, "2026-11-27T09:59:59Z"],
  ]);
});
