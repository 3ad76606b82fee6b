/**
 * `followLog` of a large log from a scripted kubelet, the way a step's log is read: followed
 * live until the container ends, then read once more from a second before the last line
 * shown. Two logs of 8 MiB: one line, and short lines. Time per follow, and the most resident
 * memory a follow adds to the process's (Linux; with `gc`, so that each follow starts from a
 * collected heap).
 * Run: `deno bench --allow-all --v8-flags=--expose-gc bench/follow_log_bench.ts`.
 *
 * @module
 */
import { Readable } from "node:stream";
import { followLog } from "../src/follow/logs.ts";
import type { Api } from "../src/kube/client.ts";

const MIB = 1024 * 1024;
/** What a read of the API server's answer brings at a time: one TLS record at most. */
const CHUNK_BYTES = 16 * 1024;
const START = Date.parse("2026-11-27T10:00:00Z");

/** A container's log as the kubelet serves it with `timestamps=true`. */
interface ScriptedLog {
  /** The log, every line `<timestamp> <content>\n`. */
  bytes: Uint8Array;
  /** Where each line starts, and its second: a `sinceTime` read starts at the first it covers. */
  lines: { offset: number; second: number }[];
  /** The bytes a follow must show: the contents, without timestamps. */
  shownBytes: number;
}

/** A kubelet timestamp (RFC3339, nanoseconds, fixed width). */
function stamp(micros: number): string {
  const iso = new Date(START + Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 19)}.${String(micros % 1_000_000).padStart(6, "0")}000Z`;
}

/** Lines of `contents`, written `intervalMicros` apart. */
function scriptedLog(contents: string[], intervalMicros: number): ScriptedLog {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const lines: ScriptedLog["lines"] = [];
  let offset = 0;
  let shownBytes = 0;
  contents.forEach((content, index) => {
    const micros = index * intervalMicros;
    const line = encoder.encode(`${stamp(micros)} ${content}\n`);
    lines.push({ offset, second: Math.floor((START + micros / 1000) / 1000) });
    parts.push(line);
    offset += line.length;
    shownBytes += content.length + 1;
  });
  const bytes = new Uint8Array(offset);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, lines, shownBytes };
}

/** One line of 8 MiB (a kubelet since 1.26 stamps a line split by containerd only once). */
const oneLine = scriptedLog(["x".repeat(8 * MIB)], 0);
/** 8 MiB of 100-byte lines, 100 µs apart. */
const shortLines = scriptedLog(
  Array.from(
    { length: Math.floor(8 * MIB / 100) },
    (_, index) => `line-${String(index + 1).padStart(6, "0")} ${"y".repeat(87)}`,
  ),
  100,
);

/** The API of a kubelet serving `log`: the followed stream ends as the container does. */
function scriptedApi(log: ScriptedLog, ended: () => void): Api {
  const api = {
    stream(_path: string, options: { query: Record<string, unknown> }) {
      const since = options.query.sinceTime === undefined
        ? undefined
        : Date.parse(String(options.query.sinceTime)) / 1000;
      const first = since === undefined ? 0 : log.lines.findIndex((line) => line.second >= since);
      const from = first === -1 ? log.bytes.length : log.lines[first].offset;
      const follow = Boolean(options.query.follow);
      function* chunks() {
        for (let at = from; at < log.bytes.length; at += CHUNK_BYTES) {
          yield log.bytes.subarray(at, Math.min(at + CHUNK_BYTES, log.bytes.length));
        }
        if (follow) ended();
      }
      return Promise.resolve({ status: 200, body: Readable.from(chunks(), { objectMode: false }) });
    },
  };
  return api as unknown as Api;
}

/** Follows `log` once; throws unless every content byte was shown exactly once. */
async function follow(log: ScriptedLog): Promise<void> {
  let terminated = false;
  let terminate!: () => void;
  const whenTerminated = new Promise<void>((resolve) => terminate = resolve);
  let shown = 0;
  const end = await followLog({
    api: scriptedApi(log, () => {
      terminated = true;
      terminate();
    }),
    namespace: "bench",
    pod: "p",
    container: "step",
    progress: { started: Promise.resolve(), terminated: () => terminated, whenTerminated },
    write: (data) => {
      shown += data.length;
      return Promise.resolve();
    },
    signal: new AbortController().signal,
  });
  if (end !== "complete" || shown !== log.shownBytes) {
    throw new Error(
      `followLog ended ${JSON.stringify(end)} with ${shown} of ${log.shownBytes} bytes`,
    );
  }
}

/** `gc()` when V8 exposes it (`--v8-flags=--expose-gc`). */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

/** A field of /proc/self/status, in KiB. */
function statusKiB(field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)![1]);
}

/** Per benchmark, the most resident memory a follow added to what the process held before it. */
const peaks = new Map<string, number>();

/** Follows `log` as a benchmark, measuring the process's peak resident memory around it. */
async function measured(name: string, log: ScriptedLog, b: Deno.BenchContext): Promise<void> {
  if (!collectGarbage) {
    b.start();
    await follow(log);
    b.end();
    return;
  }
  collectGarbage();
  // Resets the peak resident memory (VmHWM) to the current one (proc(5), clear_refs).
  Deno.writeTextFileSync("/proc/self/clear_refs", "5");
  const startKiB = statusKiB("VmRSS");
  b.start();
  await follow(log);
  b.end();
  peaks.set(name, Math.max(statusKiB("VmHWM") - startKiB, peaks.get(name) ?? 0));
}

const ONE_LINE = "followLog: one 8 MiB line";
const SHORT_LINES = "followLog: 8 MiB of 100-byte lines";

// Async functions (not functions returning a promise): `deno bench` awaits only those.
Deno.bench({
  name: ONE_LINE,
  n: 10,
  warmup: 2,
  fn: async (b) => await measured(ONE_LINE, oneLine, b),
});
Deno.bench({
  name: SHORT_LINES,
  n: 10,
  warmup: 2,
  fn: async (b) => await measured(SHORT_LINES, shortLines, b),
});

globalThis.addEventListener("unload", () => {
  if (!collectGarbage) {
    console.log("peak memory not measured: run with --v8-flags=--expose-gc");
    return;
  }
  for (const [name, kib] of peaks) {
    console.log(
      `${name}: peak memory ${(kib / 1024).toFixed(1)} MiB above the process's before it`,
    );
  }
});
