/**
 * Where a container's log stream has got to: the kubelet's timestamps read and taken off,
 * the lines shown remembered (`shown_lines.ts`) so that a stream resumed after a dropped
 * connection repeats nothing and loses nothing, and lines the kubelet no longer serves said
 * missing.
 *
 * Every byte of a step's log passes through here, a line or a few at a time: the line being
 * read is fields of the cursor, its bytes are copied into buffers that are reused, and a
 * read gives one new array, what it shows. (An object, a few arrays and views for every line
 * made a hook following a log at speed allocate a kilobyte a line; the young generation,
 * full every millisecond, moved what was waiting on a write into the old one, and the hook's
 * memory grew with the log.)
 *
 * @module
 */
import { ByteBuffer } from "../byte_buffer.ts";
import {
  type LineShown,
  type LineSpans,
  type LogTime,
  NO_LINES,
  ShownLines,
} from "./shown_lines.ts";

export type { LogTime };

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
const DASH = code("-");
const COLON = code(":");
const T = code("T");
const Z = code("Z");
const DOT = code(".");
const NEWLINE = code("\n");
const SPACE = code(" ");

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
 * Reads the timestamp in `bytes[start, end)` into `time`; returns whether it is one as the
 * kubelet writes it (`2026-11-27T10:00:00.123456789Z`: RFC3339 in UTC, up to nine digits of
 * fraction). Read from the bytes, without making a string or an object: every line has one.
 */
function readTimestamp(bytes: Uint8Array, start: number, end: number, time: LogTime): boolean {
  const length = end - start;
  if (length < 20 || length > 30 || bytes[end - 1] !== Z) return false;
  if (
    bytes[start + 4] !== DASH || bytes[start + 7] !== DASH || bytes[start + 10] !== T ||
    bytes[start + 13] !== COLON || bytes[start + 16] !== COLON
  ) {
    return false;
  }
  const fraction = length - 21;
  if (length > 20 && (bytes[start + 19] !== DOT || fraction < 1)) return false;
  const nanos = length === 20 ? 0 : digits(bytes, start + 20, fraction) * 10 ** (9 - fraction);
  const milliseconds = Date.UTC(
    digits(bytes, start, 4),
    digits(bytes, start + 5, 2) - 1,
    digits(bytes, start + 8, 2),
    digits(bytes, start + 11, 2),
    digits(bytes, start + 14, 2),
    digits(bytes, start + 17, 2),
  );
  if (Number.isNaN(milliseconds) || Number.isNaN(nanos)) return false;
  time.second = milliseconds / 1000;
  time.nanos = nanos;
  return true;
}

/**
 * The time of a timestamp as the kubelet writes it (`2026-11-27T10:00:00.123456789Z`:
 * RFC3339 in UTC, up to nine digits of fraction), or undefined for other bytes.
 */
export function parseTimestamp(bytes: Uint8Array): LogTime | undefined {
  const time = { second: 0, nanos: 0 };
  return readTimestamp(bytes, 0, bytes.length, time) ? time : undefined;
}

/**
 * A line is shown in pieces of this size while its end has not come: what a line costs is
 * bounded, however long it is (a progress bar redrawn with `\r` is one line).
 */
export const PARTIAL_LINE_BYTES = 64 * 1024;

/** No timestamp is longer: a line whose first space comes later has none. */
const TIMESTAMP_BYTES = 40;
const NEWLINE_BYTES = Uint8Array.of(NEWLINE);
const NOTHING = new Uint8Array(0);
const NONE: readonly number[] = Object.freeze([]);
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The FNV-1a hash of `bytes[start, end)`, continuing from `hash`. */
function fnv1a(hash: number, bytes: Uint8Array, start: number, end: number): number {
  for (let index = start; index < end; index++) {
    hash = Math.imul(hash ^ bytes[index], FNV_PRIME);
  }
  return hash;
}

/**
 * What was shown of a line (`shown_lines.ts`): enough to know it again in a replay, a few
 * bytes whatever its length. Lines are told apart by their timestamp, and lines sharing one
 * by their start: the FNV-1a hash of its first bytes shown, up to `PARTIAL_LINE_BYTES`. Of a
 * line older than the newest few thousand, only the timestamp is kept: it was shown whole.
 */
function headLength(shown: LineShown): number {
  return Math.min(shown.length, PARTIAL_LINE_BYTES);
}

/** How many of its first bytes a replayed line must have before it is known as `shown`. */
function needed(shown: LineShown | undefined): number {
  if (!shown) return 0;
  // A short complete line is the same only if it ends there: one byte more says it does not.
  return shown.complete && shown.length <= PARTIAL_LINE_BYTES
    ? shown.length + 1
    : headLength(shown);
}

/** Whether a replayed line beginning with `start` (all of it when `ended`) is `shown`. */
function isShown(shown: LineShown | undefined, start: ByteBuffer, ended: boolean): boolean {
  if (!shown) return true;
  const covered = headLength(shown);
  if (start.length < covered) return false;
  if (fnv1a(FNV_OFFSET, start.bytes, 0, covered) !== shown.head) return false;
  if (shown.complete) return ended ? start.length === shown.length : start.length <= shown.length;
  return !ended || start.length >= shown.length;
}

/**
 * Where the cursor is in the line being read: `timestamp`, its timestamp is being read;
 * `probe`, it may be a replayed line, which its first bytes tell; `skip`, its bytes were
 * shown; `show`, its bytes are new.
 */
type Stage = "timestamp" | "probe" | "skip" | "show";

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
  #recent = new ShownLines();
  #lastSecond: number | undefined;
  /** The numbers of the lines shown that a resumed stream replays, in order. */
  #replay: LineSpans = NO_LINES;
  /** How many of the replay's lines were found again. */
  #replayed = 0;
  #gap: LogGap | undefined;
  /** What `take` shows, gathered. */
  #out = new ByteBuffer();

  // The line being read.
  #stage: Stage = "timestamp";
  /** Its bytes read and not shown: the timestamp so far, the probe, or the content held back. */
  #held = new ByteBuffer();
  /** Whether it has a timestamp, and which (`#time`, reused from line to line). */
  #stamped = false;
  #time: LogTime = { second: 0, nanos: 0 };
  /** Its number among the lines shown, once something of it was; else -1. */
  #number = -1;
  /** The hash of its first bytes shown, and how many were shown, its newline left out. */
  #head = FNV_OFFSET;
  #length = 0;
  /** In `probe`: the replayed lines it may be, by position in the replay. */
  #candidates: readonly number[] = NONE;
  /** In `skip`: how many more bytes were shown; Infinity for the rest of it and its newline. */
  #skip = 0;

  /** The query that resumes after the bytes shown so far; bytes read and not shown come again. */
  resume(): { sinceTime?: string } {
    this.#nextLine();
    if (this.#lastSecond === undefined) return {};
    const since = this.#lastSecond - 1;
    this.#replay = this.#recent.since(since);
    this.#replayed = 0;
    return { sinceTime: new Date(since * 1000).toISOString().replace(/\.\d+Z$/, "Z") };
  }

  /**
   * What to show now of the stream's next `bytes`: the content of the lines they complete,
   * with their newlines, and of a line grown past `PARTIAL_LINE_BYTES`, as far as it goes.
   */
  take(bytes: Uint8Array): Uint8Array {
    // A plain view: a node Buffer's own indexOf and subarray are many times slower.
    const chunk = bytes.constructor === Uint8Array
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    this.#out.clear();
    let at = 0;
    while (at < chunk.length) {
      switch (this.#stage) {
        case "timestamp":
          at = this.#readTimestamp(chunk, at);
          break;
        case "probe":
          at = this.#probe(chunk, at);
          break;
        case "skip":
          at = this.#skipShown(chunk, at);
          break;
        case "show":
          at = this.#show(chunk, at);
          break;
      }
    }
    return this.#shown();
  }

  /** Whether content of an incomplete line is held back, for `flush`. */
  get holding(): boolean {
    return this.#stage === "show" && this.#held.length > 0;
  }

  /** The content of an incomplete line held back so far, shown now; its rest follows. */
  flush(): Uint8Array {
    if (!this.holding) return NOTHING;
    this.#out.clear();
    this.#showHeld(false);
    return this.#shown();
  }

  /** What is left to show when the whole log has been read: a last line without newline. */
  end(): Uint8Array {
    const rest = this.#stage === "timestamp" && this.#held.length === 0
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

  /** What was gathered to show, as an array of its own. */
  #shown(): Uint8Array {
    return this.#out.length === 0 ? NOTHING : this.#out.copy();
  }

  /** The next line begins. */
  #nextLine(): void {
    this.#stage = "timestamp";
    this.#held.clear();
    this.#stamped = false;
    this.#number = -1;
    this.#head = FNV_OFFSET;
    this.#length = 0;
    this.#candidates = NONE;
    this.#skip = 0;
  }

  #readTimestamp(chunk: Uint8Array, at: number): number {
    const held = this.#held;
    const stop = Math.min(chunk.length, at + TIMESTAMP_BYTES - held.length);
    let end = at;
    while (end < stop && chunk[end] !== SPACE && chunk[end] !== NEWLINE) end++;
    // A space or a newline ends the timestamp; without either, more of it is to come.
    const ended = end < stop;
    if (ended && held.length === 0 && readTimestamp(chunk, at, end, this.#time)) {
      this.#beginStamped();
    } else {
      held.append(chunk, at, end);
      if (!ended && held.length < TIMESTAMP_BYTES) return end;
      if (ended && readTimestamp(held.bytes, 0, held.length, this.#time)) {
        held.clear();
        this.#beginStamped();
      } else {
        this.#beginUntimed();
        return end;
      }
    }
    // A line of nothing but a timestamp ends here; else its content follows the space.
    return chunk[end] === SPACE ? end + 1 : end;
  }

  /** A line stamped `#time`: a replayed one, perhaps, or a new one. */
  #beginStamped(): void {
    this.#stamped = true;
    this.#candidates = this.#candidatesFor(this.#time);
    if (this.#candidates.length > 0) {
      this.#stage = "probe";
    } else {
      this.#endReplay(this.#time);
      this.#stage = "show";
    }
  }

  /** A line without a timestamp: shown as it is, or skipped in a replay as the rest of one shown. */
  #beginUntimed(): void {
    if (this.#replayed < this.#replay.length) {
      this.#stage = "skip";
      this.#skip = Infinity;
      this.#held.clear();
    } else {
      this.#stage = "show";
    }
  }

  /** The replayed lines a line stamped `time` may be, in order. */
  #candidatesFor(time: LogTime): readonly number[] {
    // Every line comes here: past a replay, nothing is made.
    if (this.#replayed >= this.#replay.length) return NONE;
    const stamped = (index: number) =>
      this.#recent.stamped(this.#replay.at(index), time.second, time.nanos);
    if (this.#replayed > 0) return stamped(this.#replayed) ? [this.#replayed] : NONE;
    // The kubelet may have rotated the log meanwhile: the replay then starts inside what was
    // shown.
    const candidates: number[] = [];
    for (let index = 0; index < this.#replay.length; index++) {
      if (stamped(index)) candidates.push(index);
    }
    return candidates;
  }

  /** What was shown of the replayed line at `index` of the replay, if it is known. */
  #replayLine(index: number): LineShown | undefined {
    return this.#recent.shown(this.#replay.at(index));
  }

  /**
   * Lines from here on are new, the first of them stamped `next` (none when the log ended);
   * a resumed stream that replayed none of what was shown had lost the last line shown.
   */
  #endReplay(next?: LogTime): void {
    if (this.#replay.length === 0) return;
    const last = this.#replay.at(this.#replay.length - 1);
    if (this.#replayed === 0) {
      this.#gap = {
        after: this.#recent.time(last),
        afterComplete: this.#recent.shown(last)?.complete ?? true,
        before: next && { second: next.second, nanos: next.nanos },
      };
    }
    this.#replay = NO_LINES;
  }

  #probe(chunk: Uint8Array, at: number): number {
    const held = this.#held;
    const target = Math.max(...this.#candidates.map((index) => needed(this.#replayLine(index))));
    const stop = Math.min(chunk.length, at + target - held.length);
    let newline = chunk.indexOf(NEWLINE, at);
    if (newline >= stop) newline = -1;
    const end = newline === -1 ? stop : newline;
    held.append(chunk, at, end);
    if (newline === -1 && held.length < target) return end;
    this.#decide(newline !== -1);
    // A newline is left to the stage that follows.
    return end;
  }

  /** Tells whether the probed line was shown, and as far as where. */
  #decide(ended: boolean): void {
    const held = this.#held;
    const match = this.#candidates.find((index) => isShown(this.#replayLine(index), held, ended));
    if (match === undefined) {
      this.#endReplay(this.#time);
      this.#stage = "show";
      return;
    }
    const shown = this.#replayLine(match) ?? { head: 0, length: 0, complete: true };
    this.#number = this.#replay.at(match);
    this.#head = shown.head;
    this.#length = shown.length;
    this.#replayed = match + 1;
    if (shown.complete) {
      this.#stage = "skip";
      this.#skip = Infinity;
      held.clear();
    } else if (held.length < shown.length) {
      this.#stage = "skip";
      this.#skip = shown.length - held.length;
      held.clear();
    } else {
      this.#stage = "show";
      held.dropFront(shown.length);
    }
  }

  #skipShown(chunk: Uint8Array, at: number): number {
    const newline = chunk.indexOf(NEWLINE, at);
    if (this.#skip === Infinity) {
      if (newline === -1) return chunk.length;
      this.#nextLine();
      return newline + 1;
    }
    const stop = Math.min(chunk.length, at + this.#skip);
    if (newline !== -1 && newline < stop) {
      // Shorter than what was shown of it: its newline, at least, is new.
      this.#stage = "show";
      return newline;
    }
    this.#skip -= stop - at;
    if (this.#skip === 0) this.#stage = "show";
    return stop;
  }

  #show(chunk: Uint8Array, at: number): number {
    const newline = chunk.indexOf(NEWLINE, at);
    if (newline === -1) {
      this.#held.append(chunk, at, chunk.length);
      if (this.#held.length >= PARTIAL_LINE_BYTES) this.#showHeld(false);
      return chunk.length;
    }
    if (this.#held.length === 0) {
      this.#showBytes(chunk, at, newline + 1, true);
    } else {
      this.#held.append(chunk, at, newline + 1);
      this.#showHeld(true);
    }
    this.#nextLine();
    return newline + 1;
  }

  /** The bytes held back, now shown: content, and its newline last when `complete`. */
  #showHeld(complete: boolean): void {
    this.#showBytes(this.#held.bytes, 0, this.#held.length, complete);
    this.#held.clear();
  }

  /**
   * Shows `bytes[start, end)` of the line: content, and its newline last when `complete`;
   * remembers what was shown of a stamped line.
   */
  #showBytes(bytes: Uint8Array, start: number, end: number, complete: boolean): void {
    this.#out.append(bytes, start, end);
    if (!this.#stamped) return;
    if (this.#number === -1) this.#number = this.#remember();
    const contentEnd = complete ? end - 1 : end;
    const hashed = Math.min(
      contentEnd - start,
      PARTIAL_LINE_BYTES - Math.min(this.#length, PARTIAL_LINE_BYTES),
    );
    this.#head = fnv1a(this.#head, bytes, start, start + hashed);
    this.#length += contentEnd - start;
    this.#recent.update(this.#number, this.#head, this.#length, complete);
  }

  /** Adds the line being read to the lines shown; returns its number. */
  #remember(): number {
    this.#lastSecond = this.#time.second;
    return this.#recent.add(this.#time.second, this.#time.nanos, FNV_OFFSET);
  }
}
