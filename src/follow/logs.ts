/**
 * A container's log, streamed live and resumed after a dropped connection with `sinceTime`
 * and timestamps, so that no line is lost or repeated; read to its last line after the
 * container ends. Lines the kubelet no longer serves (a rotated log file) are said missing.
 *
 * @module
 */
import { type Api, ApiError } from "../kube/client.ts";
import { Output } from "../report.ts";
import { sleep } from "./informer.ts";
import { concatBytes } from "../text.ts";

/** A kubelet timestamp: the whole seconds since the epoch, and the nanoseconds past them. */
export interface LogTime {
  /** Whole seconds since the epoch. */
  second: number;
  /** Nanoseconds past `second`. */
  nanos: number;
}

/** A time as the kubelet writes it: `2026-11-27T10:00:00.123456789Z`. */
export function formatTimestamp(time: LogTime): string {
  const second = new Date(time.second * 1000).toISOString().slice(0, 19);
  return `${second}.${String(time.nanos).padStart(9, "0")}Z`;
}

/**
 * Where a resumed stream went on from later than the last line shown: the kubelet no longer
 * had that line, so lines written after it may be lost.
 */
export interface LogGap {
  /** The time of the last line shown. */
  after: LogTime;
  /** Whether that line's newline was shown: if not, the build log is inside a line. */
  afterComplete: boolean;
  /** The time of the first line the resumed stream showed; undefined when it showed none. */
  before?: LogTime;
}

const code = (character: string) => character.charCodeAt(0);
const ZERO = code("0");
/** Where `YYYY-MM-DDTHH:MM:SS` has its separators, and which. */
const SEPARATORS = ([[4, "-"], [7, "-"], [10, "T"], [13, ":"], [16, ":"]] as const)
  .map(([at, separator]) => [at, code(separator)]);

/** The number written by `count` digits of `bytes` from `start`; NaN when one is not a digit. */
function digits(bytes: Uint8Array, start: number, count: number): number {
  let value = 0;
  for (let at = start; at < start + count; at++) {
    const digit = bytes[at] - ZERO;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The time of a timestamp as the kubelet writes it (`2026-11-27T10:00:00.123456789Z`:
 * RFC3339 in UTC, up to nine digits of fraction), or undefined for other bytes. Read from
 * the bytes, without making a string of them: every line of a log has one.
 */
export function parseTimestamp(bytes: Uint8Array): LogTime | undefined {
  const length = bytes.length;
  if (length < 20 || length > 30 || bytes[length - 1] !== code("Z")) return undefined;
  if (SEPARATORS.some(([at, separator]) => bytes[at] !== separator)) return undefined;
  const fraction = length - 21;
  if (length > 20 && (bytes[19] !== code(".") || fraction < 1)) return undefined;
  const nanos = length === 20 ? 0 : digits(bytes, 20, fraction) * 10 ** (9 - fraction);
  const milliseconds = Date.UTC(
    digits(bytes, 0, 4),
    digits(bytes, 5, 2) - 1,
    digits(bytes, 8, 2),
    digits(bytes, 11, 2),
    digits(bytes, 14, 2),
    digits(bytes, 17, 2),
  );
  if (Number.isNaN(milliseconds) || Number.isNaN(nanos)) return undefined;
  return { second: milliseconds / 1000, nanos };
}

/**
 * A line is shown in pieces of this size while its end has not come: what a line costs is
 * bounded, however long it is (a progress bar redrawn with `\r` is one line).
 */
export const PARTIAL_LINE_BYTES = 64 * 1024;

/** No timestamp is longer: a line whose first space comes later has none. */
const TIMESTAMP_BYTES = 40;
const NEWLINE = code("\n");
const SPACE = code(" ");
const NEWLINE_BYTES = Uint8Array.of(NEWLINE);
const NOTHING = new Uint8Array(0);
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The FNV-1a hash of the first `length` of `bytes`, continuing from `hash`. */
function fnv1a(hash: number, bytes: Uint8Array, length = bytes.length): number {
  for (let index = 0; index < length; index++) {
    hash = Math.imul(hash ^ bytes[index], FNV_PRIME);
  }
  return hash;
}

function concat(pieces: Uint8Array[]): Uint8Array {
  return pieces.length === 0 ? NOTHING : concatBytes(pieces);
}

/**
 * What was shown of a line: enough to know it again in a replay, a few bytes whatever its
 * length. Lines are told apart by their timestamp, and lines sharing one by their start.
 */
interface ShownLine {
  /** Its timestamp. */
  time: LogTime;
  /** The FNV-1a hash of its first `headLength` bytes. */
  head: number;
  /** How many of its first bytes `head` covers: all shown, up to `PARTIAL_LINE_BYTES`. */
  headLength: number;
  /** How many bytes of it were shown, its newline left out. */
  length: number;
  /** Whether its newline was shown. */
  complete: boolean;
}

/** How many of its first bytes a replayed line must have before it is known as `shown`. */
function needed(shown: ShownLine): number {
  // A short complete line is the same only if it ends there: one byte more says it does not.
  return shown.complete && shown.length <= PARTIAL_LINE_BYTES ? shown.length + 1 : shown.headLength;
}

/** Whether a replayed line beginning with `start` (all of it when `ended`) is `shown`. */
function isShown(shown: ShownLine, start: Uint8Array, ended: boolean): boolean {
  if (start.length < shown.headLength) return false;
  if (fnv1a(FNV_OFFSET, start, shown.headLength) !== shown.head) return false;
  if (shown.complete) return ended ? start.length === shown.length : start.length <= shown.length;
  return !ended || start.length >= shown.length;
}

/** The line being read. */
interface Line {
  /**
   * `timestamp`: its timestamp is being read; `probe`: it may be a replayed line, which its
   * first bytes tell; `skip`: its bytes were shown; `show`: its bytes are new.
   */
  stage: "timestamp" | "probe" | "skip" | "show";
  /** Bytes read and not shown: the timestamp so far, the probe, or the content held back. */
  held: Uint8Array[];
  heldLength: number;
  /** Its timestamp; undefined for a line without one. */
  time?: LogTime;
  /** What was shown of it, once something was. */
  shown?: ShownLine;
  /** In `probe`: the replayed lines it may be, by position in the replay. */
  candidates: number[];
  /** In `skip`: how many more bytes were shown; Infinity for the rest of it and its newline. */
  skip: number;
}

function newLine(): Line {
  return { stage: "timestamp", held: [], heldLength: 0, candidates: [], skip: 0 };
}

/**
 * Where a log stream has got to, so that a resumed stream repeats nothing and loses
 * nothing; it reads the bytes of `<timestamp> <content>\n` lines as they come and gives
 * the content to show, as bytes, whatever their encoding.
 *
 * The kubelet serves a container's log in the order it was written (stdout and stderr
 * interleaved), and `sinceTime` reaches it in whole seconds: a stream resumed from second S
 * replays, in the same order, every line stamped S or later. The cursor resumes a second
 * before the last line shown, since containerd stamps stdout and stderr on separate
 * goroutines and a line written later may carry an earlier time, and skips the replayed
 * lines it has shown, matched one by one. A live stream drops nothing, whatever its times:
 * a stamp that goes backwards (an interleaved stream, an NTP step) is still a new line.
 *
 * A line is shown before its newline when it grows past `PARTIAL_LINE_BYTES`, and when the
 * follower calls `flush` (it has waited long enough). containerd writes a line longer than
 * 16 KiB as several records; the kubelet (since 1.26) stamps only the first, and leaves out
 * a record stamped before `sinceTime`, so a replay may hold the rest of a line without a
 * timestamp: that line began before the resumed second, before what was shown last, and was
 * shown; it is skipped. A replayed line shown in part is skipped as far as it was shown, and
 * shown from there.
 *
 * The kubelet serves only the container's current log file: a stream resumed after the file
 * was rotated starts past what was shown, and what was written to the rotated file after it
 * is not served. A resumed stream always replays the last line shown (it is stamped at
 * `sinceTime` or later) unless that line is gone with a rotated file, so a first line that
 * is not one shown, or no line at all, is such a gap; `takeGap` tells of it.
 */
export class LogCursor {
  /** The lines shown lately, in order. */
  #recent: ShownLine[] = [];
  /** How long `#recent` may grow before it is cut to its last seconds: twice what it kept. */
  #trimAt = 1024;
  #lastSecond: number | undefined;
  #replay: ShownLine[] = [];
  #replayed = 0;
  #line: Line = newLine();
  #gap: LogGap | undefined;

  /** The query that resumes after the bytes shown so far; bytes read and not shown come again. */
  resume(): { sinceTime?: string } {
    this.#line = newLine();
    if (this.#lastSecond === undefined) return {};
    const since = this.#lastSecond - 1;
    this.#replay = this.#recent.filter((shown) => shown.time.second >= since);
    this.#replayed = 0;
    return { sinceTime: new Date(since * 1000).toISOString().replace(/\.\d+Z$/, "Z") };
  }

  /**
   * What to show now of the stream's next `bytes`: the content of the lines they complete,
   * with their newlines, and of a line grown past `PARTIAL_LINE_BYTES`, as far as it goes.
   */
  take(bytes: Uint8Array): Uint8Array {
    // A plain view: a node Buffer's own indexOf and subarray are many times slower.
    const chunk = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    const shown: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      switch (this.#line.stage) {
        case "timestamp":
          at = this.#readTimestamp(chunk, at);
          break;
        case "probe":
          at = this.#probe(chunk, at);
          break;
        case "skip":
          at = this.#skip(chunk, at);
          break;
        case "show":
          at = this.#show(chunk, at, shown);
          break;
      }
    }
    return concat(shown);
  }

  /** Whether content of an incomplete line is held back, for `flush`. */
  get holding(): boolean {
    return this.#line.stage === "show" && this.#line.heldLength > 0;
  }

  /** The content of an incomplete line held back so far, shown now; its rest follows. */
  flush(): Uint8Array {
    if (!this.holding) return NOTHING;
    return concat(this.#showHeld(false));
  }

  /** What is left to show when the whole log has been read: a last line without newline. */
  end(): Uint8Array {
    const rest = this.#line.stage === "timestamp" && this.#line.heldLength === 0
      ? NOTHING
      : this.take(NEWLINE_BYTES);
    // A resumed log that ends before any line of it was stamped had lost the last line shown.
    this.#endReplay();
    return rest;
  }

  /**
   * The gap `take` or `end` found since this was last asked, once: it lies before what they
   * returned, since nothing of a resumed stream is shown before its first stamped line.
   */
  takeGap(): LogGap | undefined {
    const gap = this.#gap;
    this.#gap = undefined;
    return gap;
  }

  #hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#line.held.push(bytes);
    this.#line.heldLength += bytes.length;
  }

  #readTimestamp(chunk: Uint8Array, at: number): number {
    const line = this.#line;
    const stop = Math.min(chunk.length, at + TIMESTAMP_BYTES - line.heldLength);
    let end = at;
    while (end < stop && chunk[end] !== SPACE && chunk[end] !== NEWLINE) end++;
    this.#hold(chunk.subarray(at, end));
    // A space or a newline ends the timestamp; without either, more of it is to come.
    const ended = end < stop;
    if (!ended && line.heldLength < TIMESTAMP_BYTES) return end;
    const time = ended ? parseTimestamp(concat(line.held)) : undefined;
    if (time === undefined) {
      this.#beginUntimed();
      return end;
    }
    line.time = time;
    line.held = [];
    line.heldLength = 0;
    line.candidates = this.#candidates(time);
    if (line.candidates.length > 0) {
      line.stage = "probe";
    } else {
      this.#endReplay(time);
      line.stage = "show";
    }
    // A line of nothing but a timestamp ends here; else its content follows the space.
    return chunk[end] === SPACE ? end + 1 : end;
  }

  /** A line without a timestamp: shown as it is, or skipped in a replay as the rest of one shown. */
  #beginUntimed(): void {
    const line = this.#line;
    if (this.#replayed < this.#replay.length) {
      line.stage = "skip";
      line.skip = Infinity;
      line.held = [];
      line.heldLength = 0;
    } else {
      line.stage = "show";
    }
  }

  /** The replayed lines a line stamped `time` may be, in order. */
  #candidates(time: LogTime): number[] {
    const stamped = (shown: ShownLine) =>
      shown.time.second === time.second && shown.time.nanos === time.nanos;
    if (this.#replayed >= this.#replay.length) return [];
    if (this.#replayed > 0) return stamped(this.#replay[this.#replayed]) ? [this.#replayed] : [];
    // The kubelet may have rotated the log meanwhile: the replay then starts inside what was
    // shown.
    return this.#replay.flatMap((shown, index) => stamped(shown) ? [index] : []);
  }

  /**
   * Lines from here on are new, the first of them stamped `next` (none when the log ended);
   * a resumed stream that replayed none of what was shown had lost the last line shown.
   */
  #endReplay(next?: LogTime): void {
    const last = this.#replay.at(-1);
    if (this.#replayed === 0 && last !== undefined) {
      this.#gap = { after: last.time, afterComplete: last.complete, before: next };
    }
    this.#replay = [];
  }

  #probe(chunk: Uint8Array, at: number): number {
    const line = this.#line;
    const target = Math.max(...line.candidates.map((index) => needed(this.#replay[index])));
    const stop = Math.min(chunk.length, at + target - line.heldLength);
    const newline = chunk.subarray(at, stop).indexOf(NEWLINE);
    const end = newline === -1 ? stop : at + newline;
    this.#hold(chunk.subarray(at, end));
    if (newline === -1 && line.heldLength < target) return end;
    this.#decide(newline !== -1);
    // A newline is left to the stage that follows.
    return end;
  }

  /** Tells whether the probed line was shown, and as far as where. */
  #decide(ended: boolean): void {
    const line = this.#line;
    const start = concat(line.held);
    const match = line.candidates.find((index) => isShown(this.#replay[index], start, ended));
    if (match === undefined) {
      this.#endReplay(line.time);
      line.stage = "show";
      return;
    }
    const shown = this.#replay[match];
    this.#replayed = match + 1;
    line.shown = shown;
    line.held = [];
    line.heldLength = 0;
    if (shown.complete) {
      line.stage = "skip";
      line.skip = Infinity;
    } else if (start.length < shown.length) {
      line.stage = "skip";
      line.skip = shown.length - start.length;
    } else {
      line.stage = "show";
      this.#hold(start.subarray(shown.length));
    }
  }

  #skip(chunk: Uint8Array, at: number): number {
    const line = this.#line;
    if (line.skip === Infinity) {
      const newline = chunk.indexOf(NEWLINE, at);
      if (newline === -1) return chunk.length;
      this.#line = newLine();
      return newline + 1;
    }
    const stop = Math.min(chunk.length, at + line.skip);
    const newline = chunk.subarray(at, stop).indexOf(NEWLINE);
    if (newline !== -1) {
      // Shorter than what was shown of it: its newline, at least, is new.
      line.stage = "show";
      return at + newline;
    }
    line.skip -= stop - at;
    if (line.skip === 0) line.stage = "show";
    return stop;
  }

  #show(chunk: Uint8Array, at: number, shown: Uint8Array[]): number {
    const newline = chunk.indexOf(NEWLINE, at);
    if (newline === -1) {
      this.#hold(chunk.subarray(at));
      if (this.#line.heldLength >= PARTIAL_LINE_BYTES) shown.push(...this.#showHeld(false));
      return chunk.length;
    }
    this.#hold(chunk.subarray(at, newline + 1));
    shown.push(...this.#showHeld(true));
    this.#line = newLine();
    return newline + 1;
  }

  /** The bytes held back, now shown: content, and its newline last when `complete`. */
  #showHeld(complete: boolean): Uint8Array[] {
    const line = this.#line;
    const pieces = line.held;
    line.held = [];
    line.heldLength = 0;
    if (line.time !== undefined) {
      const shown = line.shown ??= this.#remember(line.time);
      pieces.forEach((piece, index) => {
        const content = complete && index === pieces.length - 1 ? piece.length - 1 : piece.length;
        const head = Math.min(content, PARTIAL_LINE_BYTES - shown.headLength);
        shown.head = fnv1a(shown.head, piece, head);
        shown.headLength += head;
        shown.length += content;
      });
      shown.complete = complete;
    }
    return pieces;
  }

  #remember(time: LogTime): ShownLine {
    const shown = { time, head: FNV_OFFSET, headLength: 0, length: 0, complete: false };
    this.#lastSecond = time.second;
    this.#recent.push(shown);
    if (this.#recent.length >= this.#trimAt) {
      this.#recent = this.#recent.filter((line) => line.time.second >= time.second - 1);
      this.#trimAt = Math.max(1024, 2 * this.#recent.length);
    }
    return shown;
  }
}

/** How the follower learns about the container from the pod's watch. */
export interface ContainerProgress {
  /** Resolves when the container has started (running or terminated). */
  started: Promise<void>;
  /** Whether the container has terminated. */
  terminated(): boolean;
  /** Resolves when the container has terminated. */
  whenTerminated: Promise<void>;
}

/** A container's log to follow. */
export interface FollowLogOptions {
  /** The API. */
  api: Api;
  /** The pod's namespace. */
  namespace: string;
  /** The pod. */
  pod: string;
  /** The container. */
  container: string;
  /** The container's progress, from the pod's watch. */
  progress: ContainerProgress;
  /** Writes the log's bytes, without timestamps; resolves when written (back-pressure). */
  write: (bytes: Uint8Array) => Promise<void>;
  /** Stops following. */
  signal: AbortSignal;
  /** Reports reconnections, for debugging. */
  log?: (message: string) => void;
  /** How long a followed log may stay open after its container ended (default 10 s). */
  endedStreamGraceMs?: number;
  /** How long the start of an incomplete line is held back, at most (default 1 s). */
  partialLineWaitMs?: number;
}

/** Why following ended: `refused` carries the API server's message. */
export type LogEnd = "complete" | "pod-gone" | "aborted" | { refused: string };

const WAITING = /is waiting to start|PodInitializing|ContainerCreating/;

/**
 * How long a followed log may stay open after its container ended. The kubelet ends it at
 * once; one still open is stalled, and a read of what is left replaces it.
 */
const ENDED_STREAM_GRACE_MS = 10_000;

/**
 * How long the start of an incomplete line is held back, at most: a prompt, or progress
 * redrawn with `\r`, shows within this time instead of when its newline comes.
 */
const PARTIAL_LINE_WAIT_MS = 1000;

/** Follows a container's log from its start to its last line. */
export async function followLog(options: FollowLogOptions): Promise<LogEnd> {
  const { api, progress, signal } = options;
  const path = `/api/v1/namespaces/${options.namespace}/pods/${options.pod}/log`;
  const cursor = new LogCursor();
  const notes = new Output(options.write);
  /** Tells the build log, where it happened, of lines the kubelet no longer had. */
  const tellGap = async () => {
    const gap = cursor.takeGap();
    if (!gap) return;
    if (!gap.afterComplete) await options.write(NEWLINE_BYTES);
    await notes.note(gapMessage(options.container, gap));
  };
  let delayMs = 100;
  await Promise.race([progress.started, aborted(signal)]);
  // A followed log is answered with the container's first output (the kubelet's way), so it
  // waits for its answer without a time limit. Once the container has ended, a followed log
  // still open after the grace is stalled, and a read of what is left replaces it.
  const finished = new AbortController();
  const stale = new AbortController();
  progress.whenTerminated
    .then(() => sleep(options.endedStreamGraceMs ?? ENDED_STREAM_GRACE_MS, finished.signal))
    .then(() => stale.abort());
  try {
    while (!signal.aborted) {
      const final = progress.terminated();
      let cleanEnd = false;
      try {
        const { body } = await api.stream(path, {
          query: {
            container: options.container,
            timestamps: true,
            follow: !final,
            ...cursor.resume(),
          },
          signal: final ? signal : AbortSignal.any([signal, stale.signal]),
          answerWhenever: !final,
        });
        try {
          await showStream(body, cursor, {
            write: (bytes) => {
              delayMs = 100;
              return options.write(bytes);
            },
            tellGap,
            waitMs: options.partialLineWaitMs ?? PARTIAL_LINE_WAIT_MS,
          });
        } finally {
          body.destroy();
        }
        // A partial last line of a finished log is complete; of a live stream, it comes again.
        if (final) {
          const rest = cursor.end();
          await tellGap();
          if (rest.length > 0) await options.write(rest);
        }
        cleanEnd = true;
      } catch (error) {
        if (signal.aborted) break;
        if (!final && stale.signal.aborted) {
          options.log?.(`${options.container}: log stream still open after the container ended`);
          continue;
        }
        if (error instanceof ApiError && error.status === 404) return "pod-gone";
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          return { refused: error.message };
        }
        if (error instanceof ApiError && error.status === 400 && WAITING.test(error.message)) {
          options.log?.(`${options.container}: not started yet; waiting`);
        } else {
          options.log?.(`${options.container}: log stream dropped (${(error as Error).message})`);
        }
      }
      if (final && cleanEnd) return "complete";
      if (cleanEnd) await Promise.race([progress.whenTerminated, sleep(delayMs, signal)]);
      else await sleep(delayMs, signal);
      delayMs = Math.min(delayMs * 2, 2000);
    }
    return "aborted";
  } finally {
    finished.abort();
  }
}

/** What the build log says of a gap: when, and why the kubelet no longer had those lines. */
function gapMessage(container: string, gap: LogGap): string {
  const until = gap.before ? ` and before ${formatTimestamp(gap.before)}` : "";
  return `lines of ${container} written after ${formatTimestamp(gap.after)}${until} may be ` +
    "missing: the log stream was resumed after the kubelet rotated its log file, and it serves " +
    "only the current file";
}

const WAITED: unique symbol = Symbol("waited");

/**
 * Shows a log stream as it comes: each line once complete, and the start of an incomplete
 * line once it has waited `waitMs`.
 */
async function showStream(
  body: AsyncIterable<Uint8Array>,
  cursor: LogCursor,
  { write, tellGap, waitMs }: {
    write: (bytes: Uint8Array) => Promise<void>;
    tellGap: () => Promise<void>;
    waitMs: number;
  },
): Promise<void> {
  const chunks = body[Symbol.asyncIterator]();
  let next = chunks.next();
  /** When the oldest byte held back came (ms). */
  let heldSince = 0;
  try {
    while (true) {
      let result: IteratorResult<Uint8Array> | typeof WAITED;
      if (cursor.holding) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const waited = new Promise<typeof WAITED>((resolve) => {
          timer = setTimeout(() => resolve(WAITED), heldSince + waitMs - Date.now());
        });
        result = await Promise.race([next, waited]);
        clearTimeout(timer);
      } else {
        result = await next;
      }
      if (result === WAITED) {
        await write(cursor.flush());
        continue;
      }
      if (result.done) return;
      const wasHolding = cursor.holding;
      const shown = cursor.take(result.value);
      if (cursor.holding && (!wasHolding || shown.length > 0)) heldSince = Date.now();
      await tellGap();
      if (shown.length > 0) await write(shown);
      next = chunks.next();
    }
  } finally {
    // A read still pending when writing failed ends with the stream: it must not go unhandled.
    next.catch(() => {});
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
