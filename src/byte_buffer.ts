/**
 * A buffer of bytes that is filled, read and emptied again and again, growing to the most it
 * held: the hot paths of a followed log (the cursor's held and shown bytes, the batches of
 * the build log) copy into one instead of making a new array for every line or read, which
 * the garbage collector had to take back by the hundred thousand.
 *
 * @module
 */

/** The size a buffer starts at. */
const FIRST_BYTES = 1024;

/** Bytes appended one after another, kept in one array that is reused. */
export class ByteBuffer {
  /** The array: its first `length` bytes are the buffer's; a larger one replaces it. */
  bytes: Uint8Array;
  /** How many bytes it holds. */
  length = 0;

  /** An empty buffer whose array starts at `firstBytes`. */
  constructor(firstBytes = FIRST_BYTES) {
    this.bytes = new Uint8Array(firstBytes);
  }

  /** Appends `source[start, end)` (all of `source` by default). */
  append(source: Uint8Array, start = 0, end = source.length): void {
    const needed = this.length + (end - start);
    if (needed > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < needed) size *= 2;
      const larger = new Uint8Array(size);
      larger.set(this.bytes.subarray(0, this.length));
      this.bytes = larger;
    }
    this.bytes.set(source.subarray(start, end), this.length);
    this.length = needed;
  }

  /** Lets go of its first `count` bytes; the rest move to the front. */
  dropFront(count: number): void {
    this.bytes.copyWithin(0, count, this.length);
    this.length -= count;
  }

  /** Empties it; its array is kept for what comes next. */
  clear(): void {
    this.length = 0;
  }

  /** A copy of what it holds, which stays as it is when the buffer changes. */
  copy(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}
