/**
 * Container logs in the CRI log format the kubelet reads (`<RFC3339Nano> <stream> <F|P>
 * <content>`, one record per line), written from a container's stdout and stderr as they
 * arrive and read back with the kubelet's options (`tailLines`, `since`, `limitBytes`,
 * `timestamps`, `follow`). Reading streams from the file in blocks, so a 50 MB log costs a
 * 64 KiB buffer per request, and a follower wakes on each write instead of polling.
 *
 * @module
 */

import { formatNanos, nowNanos } from "./timestamps.ts";

/** Which output a record came from. */
export type LogStream = "stdout" | "stderr";

const NEWLINE = 10;
const SPACE = 32;
// containerd splits lines longer than this into partial (P) records.
const MAX_RECORD_CONTENT = 16 * 1024;
const READ_BLOCK = 64 * 1024;
const encoder = new TextEncoder();

/** One container's log file: appended to while it runs, read by any number of requests. */
export class ContainerLog {
  /** Path of the log file. */
  readonly path: string;
  #file: Deno.FsFile;
  #writes: Promise<void> = Promise.resolve();
  #size = 0;
  #closed = false;
  #lastNanos = 0n;
  #wake: (() => void)[] = [];

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Creates (truncates) the log file. */
  static async create(path: string): Promise<ContainerLog> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    return new ContainerLog(path, file);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Whether the container's output has ended (nothing more will be written). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Copies one output stream into the log until it ends, stamping each line when read. */
  async pump(stream: ReadableStream<Uint8Array>, name: LogStream): Promise<void> {
    const header = encoder.encode(` ${name} `);
    let pending = new Uint8Array(0);
    for await (const chunk of stream) {
      const data = pending.length ? concat(pending, chunk) : chunk;
      const end = data.lastIndexOf(NEWLINE) + 1;
      const records: Uint8Array[] = [];
      if (end > 0) records.push(...this.#records(header, data.subarray(0, end), true));
      pending = data.slice(end);
      if (pending.length > MAX_RECORD_CONTENT) {
        records.push(...this.#records(header, pending, false));
        pending = new Uint8Array(0);
      }
      if (records.length) await this.#append(records);
    }
    if (pending.length) await this.#append(this.#records(header, pending, true));
  }

  /** Appends a line written by the node itself (not by the container). */
  async note(name: LogStream, line: string): Promise<void> {
    await this.#append(
      this.#records(encoder.encode(` ${name} `), encoder.encode(`${line}\n`), true),
    );
  }

  /** Marks the log complete; followers finish once they have read everything. */
  async close(): Promise<void> {
    await this.#writes;
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
    this.#notify();
  }

  /** Resolves at the next write or at close (or when the signal aborts). */
  changed(signal?: AbortSignal): Promise<void> {
    if (this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#wake.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  // Splits `data` into records: complete lines get F, a trailing unterminated part P (or F
  // when `final`); overlong lines are cut into P records.
  #records(header: Uint8Array, data: Uint8Array, final: boolean): Uint8Array[] {
    const stamp = encoder.encode(formatNanos(this.#stamp()));
    const records: Uint8Array[] = [];
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(NEWLINE, start);
      const lineEnd = newline < 0 ? data.length : newline;
      const contentEnd = Math.min(lineEnd, start + MAX_RECORD_CONTENT);
      const complete = contentEnd === lineEnd && (newline >= 0 || final);
      records.push(
        stamp,
        header,
        complete ? TAG_FULL : TAG_PARTIAL,
        data.subarray(start, contentEnd),
        NEWLINE_BYTES,
      );
      start = contentEnd === lineEnd && newline >= 0 ? newline + 1 : contentEnd;
    }
    return records;
  }

  // Stamps never go backwards, so a log's records stay in time order.
  #stamp(): bigint {
    const now = nowNanos();
    this.#lastNanos = now > this.#lastNanos ? now : this.#lastNanos;
    return this.#lastNanos;
  }

  #append(parts: Uint8Array[]): Promise<void> {
    const bytes = concat(...parts);
    this.#writes = this.#writes.then(async () => {
      if (this.#closed) return;
      let written = 0;
      while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
      this.#size += bytes.length;
      this.#notify();
    });
    return this.#writes;
  }

  #notify(): void {
    const waiting = this.#wake;
    this.#wake = [];
    for (const wake of waiting) wake();
  }
}

const TAG_FULL = encoder.encode("F ");
const TAG_PARTIAL = encoder.encode("P ");
const NEWLINE_BYTES = new Uint8Array([NEWLINE]);
const SPACE_BYTES = new Uint8Array([SPACE]);

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Options of `readContainerLog` (see `LogQuery`). */
export interface LogReadOptions {
  follow: boolean;
  timestamps: boolean;
  since?: string;
  tailLines?: number;
  limitBytes?: number;
  stream: "All" | "Stdout" | "Stderr";
}

/**
 * Streams a log as the kubelet serves it: lines (with their timestamp and a space when
 * asked), starting `tailLines` records from the end, skipping records older than `since`,
 * cut at `limitBytes`; with `follow`, until the log is closed and read to the end.
 */
export function readContainerLog(
  log: ContainerLog,
  options: LogReadOptions,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  return ReadableStream.from(logChunks(log, options, signal));
}

async function* logChunks(
  log: ContainerLog,
  options: LogReadOptions,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const file = await Deno.open(log.path, { read: true });
  try {
    let position = options.tailLines === undefined
      ? 0
      : await tailStart(file, log.size, options.tailLines);
    let remain = options.limitBytes ?? Infinity;
    let linesLeft = options.tailLines !== undefined && !options.follow
      ? options.tailLines
      : Infinity;
    let newLine = true;
    let leftover = new Uint8Array(0);
    const block = new Uint8Array(READ_BLOCK);
    const wanted = options.stream === "All"
      ? undefined
      : encoder.encode(options.stream.toLowerCase());
    const since = options.since ? encoder.encode(options.since) : undefined;
    while (!signal.aborted && remain > 0 && linesLeft > 0) {
      await file.seek(position, Deno.SeekMode.Start);
      const read = await file.read(block);
      if (read === null || read === 0) {
        if (!options.follow || (log.closed && position >= log.size)) return;
        // Registered before re-checking, so a write in between still wakes this reader.
        const wake = log.changed(signal);
        if (position >= log.size && !log.closed) await wake;
        continue;
      }
      position += read;
      const data = leftover.length
        ? concat(leftover, block.subarray(0, read))
        : block.subarray(0, read);
      const out: Uint8Array[] = [];
      let start = 0;
      for (;;) {
        const end = data.indexOf(NEWLINE, start);
        if (end < 0 || remain <= 0 || linesLeft <= 0) break;
        const record = data.subarray(start, end);
        start = end + 1;
        const s1 = record.indexOf(SPACE);
        const s2 = record.indexOf(SPACE, s1 + 1);
        const s3 = record.indexOf(SPACE, s2 + 1);
        if (s1 < 0 || s2 < 0 || s3 < 0) continue;
        const stamp = record.subarray(0, s1);
        const partial = record[s2 + 1] === TAG_PARTIAL[0];
        const startsLine = newLine;
        newLine = !partial;
        if (options.tailLines !== undefined && !options.follow) linesLeft--;
        if (since && compareBytes(stamp, since) < 0) continue;
        if (wanted && compareBytes(record.subarray(s1 + 1, s2), wanted) !== 0) continue;
        const parts = options.timestamps && startsLine ? [stamp, SPACE_BYTES] : [];
        parts.push(record.subarray(s3 + 1));
        if (!partial) parts.push(NEWLINE_BYTES);
        for (const part of parts) {
          const piece = part.length > remain ? part.subarray(0, remain) : part;
          out.push(piece);
          remain -= piece.length;
        }
      }
      leftover = data.slice(start);
      if (out.length) yield concat(...out);
    }
  } finally {
    file.close();
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    if (a[index] !== b[index]) return a[index] - b[index];
  }
  return a.length - b.length;
}

// The kubelet's findTailLineStartIndex: count newlines backwards in blocks until there are
// more than `lines`, then step forward past the extra ones.
async function tailStart(file: Deno.FsFile, size: number, lines: number): Promise<number> {
  let count = 0;
  let left = size;
  let buffer = new Uint8Array(0);
  for (let right = size; right > 0 && count <= lines; right -= READ_BLOCK) {
    left = Math.max(0, right - READ_BLOCK);
    buffer = new Uint8Array(right - left);
    await file.seek(left, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < buffer.length) {
      const read = await file.read(buffer.subarray(filled));
      if (read === null) break;
      filled += read;
    }
    for (const byte of buffer) if (byte === NEWLINE) count++;
  }
  let offset = 0;
  for (; count > lines; count--) {
    offset = buffer.indexOf(NEWLINE, offset) + 1;
  }
  return left + offset;
}
