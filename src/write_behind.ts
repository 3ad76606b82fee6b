/**
 * A writer that writes behind its callers: a write copies its bytes into a buffer and
 * returns, at once while little is waiting, and what gathers while one write is under way
 * goes out in the next, as one. A log read at speed comes a few lines per read of the
 * socket (a TLS record or two); written one by one, each cost the hook a system call and a
 * hand-off to Deno's writer thread. The bytes are copied, not kept: pieces kept until
 * written outlived the garbage collector's young generation, and the memory of a hook
 * streaming a big log grew with it.
 *
 * @module
 */
import { ByteBuffer } from "./byte_buffer.ts";

/** How many bytes may wait before a write waits for room: the back-pressure of the reader. */
export const HIGH_WATER_BYTES = 256 * 1024;

/** Writes what it can of `bytes`, returns how much: `Deno.stdout.write`'s shape. */
export type WriteSome = (bytes: Uint8Array) => Promise<number>;

/** The size a buffer starts at; it grows to what one batch needs. */
const FIRST_BUFFER_BYTES = 16 * 1024;

/** A waiting writer: resolved when there is room, rejected when writing failed. */
interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** Writes bytes through `writeSome` in order, in batches, with bounded memory. */
export class WriteBehind {
  readonly #writeSome: WriteSome;
  /** Where writes gather while the other buffer is being written. */
  #gathering = new ByteBuffer(FIRST_BUFFER_BYTES);
  #spare = new ByteBuffer(FIRST_BUFFER_BYTES);
  /** Bytes gathered and not yet written, the batch being written included. */
  #pending = 0;
  #writing: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;
  #waiting: Waiter[] = [];

  /** Writes with `writeSome`, which may write part of what it is given. */
  constructor(writeSome: WriteSome) {
    this.#writeSome = writeSome;
  }

  /**
   * Copies `bytes` to be written; resolves once fewer than `HIGH_WATER_BYTES` are waiting,
   * and rejects once a write has failed.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure.error);
    if (bytes.length === 0) return Promise.resolve();
    this.#gathering.append(bytes);
    this.#pending += bytes.length;
    this.#writing ??= this.#drain();
    if (this.#pending < HIGH_WATER_BYTES) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Resolves once everything queued has been written; rejects if a write failed. */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#failure) throw this.#failure.error;
  }

  /** Writes what gathered, a batch at a time, until nothing is left or a write fails. */
  async #drain(): Promise<void> {
    try {
      while (this.#gathering.length > 0) {
        const batch = this.#gathering.bytes.subarray(0, this.#gathering.length);
        [this.#gathering, this.#spare] = [this.#spare, this.#gathering];
        this.#gathering.clear();
        for (let offset = 0; offset < batch.length;) {
          offset += await this.#writeSome(batch.subarray(offset));
        }
        this.#pending -= batch.length;
        if (this.#pending < HIGH_WATER_BYTES) this.#waiting.splice(0).forEach((w) => w.resolve());
      }
    } catch (error) {
      this.#failure = { error };
      this.#gathering.clear();
      this.#waiting.splice(0).forEach((waiter) => waiter.reject(error));
    } finally {
      this.#writing = undefined;
    }
  }
}
