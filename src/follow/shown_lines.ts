/**
 * The lines a log cursor showed in the last seconds, packed into typed arrays. A resumed
 * stream replays every line of the last two seconds, and a step printing at speed shows half
 * a million lines in that time: an object per line (its time, its hash, its length) cost a
 * hook about 240 bytes of heap each, and its memory grew with the log (150 MiB more for
 * 100 MB than for 1 MB). Packed, a line costs 4 bytes, the nanoseconds of its timestamp, in
 * blocks let go as soon as their lines are too old to be replayed (and kept for the lines to
 * come); its second is kept once for a run of lines stamped in the same second; the hash of
 * its start, its length and whether it ended are kept for the last `DETAILED_LINES` lines.
 *
 * A replay is found again by the lines' timestamps; the rest tells apart lines stamped the
 * same, and where a line shown in part was cut: only the newest line can be, and lines
 * sharing a timestamp are a few at most, all among the newest at the first line of a replay
 * but where the kubelet rotated the file meanwhile and starts it further on.
 *
 * @module
 */

/** A kubelet timestamp: the whole seconds since the epoch, and the nanoseconds past them. */
export interface LogTime {
  /** Whole seconds since the epoch. */
  second: number;
  /** Nanoseconds past `second`. */
  nanos: number;
}

/** What was shown of a line, as the cursor hashes it. */
export interface LineShown {
  /** The FNV-1a hash of its first bytes shown. */
  head: number;
  /** How many bytes of it were shown, its newline left out. */
  length: number;
  /** Whether its newline was shown. */
  complete: boolean;
}

/** Lines a block holds. */
export const BLOCK_LINES = 4096;

/** How many of the newest lines keep their hash and length, not only their timestamp. */
export const DETAILED_LINES = 16384;

/** The bit of a packed length that says the line ended; the rest is its length. */
const COMPLETE = 0x8000_0000;
/** The longest length packed; a longer one is kept aside. */
const LONGEST = 0x7fff_ffff;

/**
 * Line numbers by their position in a list of them: spans of consecutive lines. A replay is
 * a few spans of hundreds of thousands of lines, not an array of them.
 */
export class LineSpans {
  /** How many lines. */
  readonly length: number;
  readonly #starts: number[];
  readonly #ends: number[];
  /** How many lines come before each span. */
  readonly #before: number[];
  /** The span the last line asked for was in: lines are mostly asked for in order. */
  #span = 0;

  /** The lines from each of `starts` to the matching one of `ends`, not included. */
  constructor(starts: number[], ends: number[]) {
    this.#starts = starts;
    this.#ends = ends;
    this.#before = [];
    let count = 0;
    for (let span = 0; span < starts.length; span++) {
      this.#before.push(count);
      count += ends[span] - starts[span];
    }
    this.length = count;
  }

  /** The line at `index` (0 ≤ index < length). */
  at(index: number): number {
    if (index < 0 || index >= this.length) throw new RangeError(`no line at ${index}`);
    let span = this.#span;
    while (index < this.#before[span]) span--;
    while (span + 1 < this.#starts.length && index >= this.#before[span + 1]) span++;
    this.#span = span;
    return this.#starts[span] + index - this.#before[span];
  }
}

/** No lines. */
export const NO_LINES = new LineSpans([], []);

/** The timestamps of a block's lines: their nanoseconds. */
type Block = Uint32Array;

/**
 * What was shown of each line, by its number in the order shown: its timestamp, the hash of
 * its first bytes and how many were shown, and whether its newline was. Lines are kept from
 * the second before the newest line's on, since a stream resumed from that second replays
 * them; older ones are let go from the oldest on (a line stamped earlier than one before it,
 * as stderr and stdout may be, goes when the lines before it go).
 */
export class ShownLines {
  #blocks: Block[] = [];
  /**
   * The hash and the packed length (`COMPLETE` when it ended) of the newest lines, line
   * `line` at `line % capacity`; it grows to `DETAILED_LINES`.
   */
  #heads = new Int32Array(BLOCK_LINES);
  #lengths = new Uint32Array(BLOCK_LINES);
  /** The number of the first line of the first block: a multiple of `BLOCK_LINES`. */
  #base = 0;
  /** The number of the oldest line kept. */
  #first = 0;
  /** The number the next line shown gets. */
  #next = 0;
  /**
   * The seconds of the lines kept, a run of lines at a time: the number of a run's first
   * line, and the second of its lines; the first run holds the oldest line kept.
   */
  #runStarts: number[] = [];
  #runSeconds: number[] = [];
  /** The lengths too long to pack (past 2 GiB without a newline), by line. */
  #longLengths = new Map<number, number>();
  /**
   * Blocks let go, kept for the lines to come: a second's lines go at once when the next
   * second begins, and as many come in it, so a steady log allocates no block. No more are
   * kept than are in use.
   */
  #spares: Block[] = [];

  /** How many lines are kept. */
  get size(): number {
    return this.#next - this.#first;
  }

  /** How many blocks hold them. */
  get blocks(): number {
    return this.#blocks.length;
  }

  /**
   * Adds a line stamped `second` and `nanos`, of which nothing is shown yet (`head` is the
   * hash of nothing); returns its number. Lines stamped before the second before `second`
   * are let go first.
   */
  add(second: number, nanos: number, head: number): number {
    this.#trim(second - 1);
    if (this.size === this.#heads.length && this.#heads.length < DETAILED_LINES) {
      this.#growDetail();
    }
    const line = this.#next++;
    if (line - this.#base === this.#blocks.length * BLOCK_LINES) {
      this.#blocks.push(this.#spares.pop() ?? new Uint32Array(BLOCK_LINES));
    }
    if (this.#runSeconds[this.#runSeconds.length - 1] !== second) {
      this.#runStarts.push(line);
      this.#runSeconds.push(second);
    }
    this.#block(line)[line % BLOCK_LINES] = nanos;
    const at = line % this.#heads.length;
    this.#heads[at] = head;
    this.#lengths[at] = 0;
    return line;
  }

  /**
   * Records what has been shown of line `line` so far (see {@link LineShown}): the newest
   * line, or one of the newest found again in a replay.
   */
  update(line: number, head: number, length: number, complete: boolean): void {
    if (!this.#detailed(line)) throw new Error(`line ${line} is not among the newest`);
    const at = line % this.#heads.length;
    this.#heads[at] = head;
    if (length > LONGEST) this.#longLengths.set(line, length);
    this.#lengths[at] = Math.min(length, LONGEST) + (complete ? COMPLETE : 0);
  }

  /**
   * What has been shown of line `line`, when it is among the newest `DETAILED_LINES`; of an
   * older one only its timestamp is kept, and it was shown whole.
   */
  shown(line: number): LineShown | undefined {
    if (!this.#detailed(line)) return undefined;
    const at = line % this.#heads.length;
    const packed = this.#lengths[at];
    const length = packed & LONGEST;
    return {
      head: this.#heads[at],
      length: length === LONGEST ? this.#longLengths.get(line) ?? length : length,
      complete: packed >= COMPLETE,
    };
  }

  /** The timestamp of line `line`. */
  time(line: number): LogTime {
    return { second: this.#second(line), nanos: this.#block(line)[line % BLOCK_LINES] };
  }

  /** Whether line `line` is stamped `second` and `nanos`. */
  stamped(line: number, second: number, nanos: number): boolean {
    return this.#block(line)[line % BLOCK_LINES] === nanos && this.#second(line) === second;
  }

  /**
   * The numbers of the lines kept that are stamped in `second` or later, in order: all but
   * a few of the lines kept, as the runs of them.
   */
  since(second: number): LineSpans {
    const starts: number[] = [];
    const ends: number[] = [];
    for (let run = 0; run < this.#runStarts.length; run++) {
      if (this.#runSeconds[run] < second) continue;
      const from = Math.max(this.#runStarts[run], this.#first);
      const to = this.#runStarts[run + 1] ?? this.#next;
      if (ends.at(-1) === from) ends[ends.length - 1] = to;
      else {
        starts.push(from);
        ends.push(to);
      }
    }
    return new LineSpans(starts, ends);
  }

  /** Whether line `line` keeps its hash and length. */
  #detailed(line: number): boolean {
    return line >= this.#first && line < this.#next && this.#next - line <= this.#heads.length;
  }

  /** Doubles the room for the newest lines' hashes and lengths, keeping those there. */
  #growDetail(): void {
    const capacity = this.#heads.length * 2;
    const heads = new Int32Array(capacity);
    const lengths = new Uint32Array(capacity);
    for (let line = this.#first; line < this.#next; line++) {
      heads[line % capacity] = this.#heads[line % this.#heads.length];
      lengths[line % capacity] = this.#lengths[line % this.#heads.length];
    }
    this.#heads = heads;
    this.#lengths = lengths;
  }

  /** The block line `line` is in. */
  #block(line: number): Block {
    return this.#blocks[Math.floor((line - this.#base) / BLOCK_LINES)];
  }

  /** The run line `line` is in. */
  #run(line: number): number {
    let low = 0;
    let high = this.#runStarts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.#runStarts[middle] <= line) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** The second line `line` is stamped in. */
  #second(line: number): number {
    return this.#runSeconds[this.#run(line)];
  }

  /** Lets go of the oldest lines while they are stamped before `second`, a run at a time. */
  #trim(second: number): void {
    while (this.#runStarts.length > 0 && this.#runSeconds[0] < second) {
      this.#runStarts.shift();
      this.#runSeconds.shift();
      this.#first = this.#runStarts[0] ?? this.#next;
    }
    if (this.#longLengths.size > 0) {
      for (const line of this.#longLengths.keys()) {
        if (line < this.#first) this.#longLengths.delete(line);
      }
    }
    while (this.#first - this.#base >= BLOCK_LINES) {
      const block = this.#blocks.shift()!;
      if (this.#spares.length < this.#blocks.length) this.#spares.push(block);
      this.#base += BLOCK_LINES;
    }
  }
}
