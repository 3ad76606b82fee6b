/**
 * What reached the build log: steps print numbered lines (`line-000001`…) and, as their last
 * act, an end marker with the container's clock (`bench-end <ns since the epoch>`). Reading
 * a hook's output back tells which lines were lost, which were printed more than once, and
 * when the container ended.
 *
 * @module
 */

/** The prefix of a numbered line; the number has at least six digits. */
export const LINE_PREFIX = "line-";

/** The word before the container's end time. */
export const END_MARKER = "bench-end";

/** The word before the container's start time (big log steps print it first). */
export const START_MARKER = "bench-start";

/** How faithfully numbered lines arrived. */
export interface LogFidelity {
  /** Lines the step printed. */
  expected: number;
  /** Distinct numbers seen. */
  distinct: number;
  /** Numbers 1…expected never seen. */
  lost: number;
  /** Extra copies: for each number seen n > 1 times, n - 1. */
  duplicated: number;
  /** Lines that mention a numbered line but are not exactly one (cut or run together). */
  garbled: number;
}

const NUMBERED = /^line-(\d{6,})$/;

/** Counts lost, duplicated and garbled numbered lines in a hook's output. */
export function checkNumberedLines(output: string, expected: number): LogFidelity {
  const seen = new Uint32Array(expected + 1);
  let garbled = 0;
  for (const line of output.split("\n")) {
    if (!line.includes(LINE_PREFIX)) continue;
    const match = NUMBERED.exec(line);
    const number = match ? Number(match[1]) : 0;
    if (number < 1 || number > expected) {
      garbled++;
      continue;
    }
    seen[number]++;
  }
  let distinct = 0;
  let duplicated = 0;
  for (let number = 1; number <= expected; number++) {
    if (seen[number] > 0) distinct++;
    if (seen[number] > 1) duplicated += seen[number] - 1;
  }
  return { expected, distinct, lost: expected - distinct, duplicated, garbled };
}

/**
 * The container's end time (ms since the epoch, fractional) from the last end marker in
 * the output, or undefined when none arrived.
 */
export function endTime(output: string): number | undefined {
  const pattern = new RegExp(`^${END_MARKER} (\\d{10,})$`, "gm");
  let last: string | undefined;
  for (const match of output.matchAll(pattern)) last = match[1];
  if (last === undefined) return undefined;
  return Number(BigInt(last) / 1000n) / 1000;
}
