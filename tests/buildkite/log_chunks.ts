/**
 * A job log put back together from the chunks `buildkite-agent start` uploads. The agent
 * uploads with several workers at once, so chunks arrive in any order; each says where its
 * bytes start (`offset`), and the log is the chunks laid end to end by offset.
 *
 * @module
 */

/** One uploaded chunk, decompressed. */
export interface LogChunk {
  /** The agent's chunk number, from 1. */
  sequence: number;
  /** Where in the log the chunk's first byte belongs. */
  offset: number;
  bytes: Uint8Array;
}

/** A byte range of the log no chunk has covered yet. */
export interface LogHole {
  start: number;
  end: number;
}

/** The chunks of one job's log, by offset. */
export class ChunkedLog {
  #chunks = new Map<number, LogChunk>();

  /**
   * Stores a chunk. A retried chunk (same offset, same bytes) is stored once; a chunk that
   * overlaps another with different bytes throws, naming both.
   */
  add(chunk: LogChunk): void {
    const same = this.#chunks.get(chunk.offset);
    if (same && sameBytes(same.bytes, chunk.bytes)) return;
    const end = chunk.offset + chunk.bytes.length;
    for (const other of this.#chunks.values()) {
      const otherEnd = other.offset + other.bytes.length;
      if (chunk.offset < otherEnd && other.offset < end) {
        throw new Error(
          `chunk ${chunk.sequence} (bytes ${chunk.offset}-${end}) overlaps chunk ` +
            `${other.sequence} (bytes ${other.offset}-${otherEnd})`,
        );
      }
    }
    this.#chunks.set(chunk.offset, chunk);
  }

  /** The log from its first byte up to the first hole. */
  prefix(): Uint8Array {
    const parts: Uint8Array[] = [];
    let end = 0;
    for (const chunk of this.#sorted()) {
      if (chunk.offset !== end) break;
      parts.push(chunk.bytes);
      end += chunk.bytes.length;
    }
    return concat(parts, end);
  }

  /** The ranges before the last stored byte that no chunk covers. */
  holes(): LogHole[] {
    const holes: LogHole[] = [];
    let end = 0;
    for (const chunk of this.#sorted()) {
      if (chunk.offset > end) holes.push({ start: end, end: chunk.offset });
      end = chunk.offset + chunk.bytes.length;
    }
    return holes;
  }

  #sorted(): LogChunk[] {
    return [...this.#chunks.values()].sort((a, b) => a.offset - b.offset);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}
