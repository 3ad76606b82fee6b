/**
 * Numbered output for log fidelity scenarios: a shell command that prints `line <n> ...`
 * lines, and a check that the build log holds each exactly once, in order.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * A command printing `count` numbered lines, `perPause` at a time with `pause` seconds
 * between; with `stderrEvery: k`, every k-th line goes to stderr as `line <n> err`.
 */
export function numberedLinesCommand(
  count: number,
  options: {
    perPause?: number;
    pause?: number;
    padding?: number;
    exit?: number;
    stderrEvery?: number;
  } = {},
): string {
  const { perPause = count, pause = 0, padding = 0, exit = 0, stderrEvery = 0 } = options;
  const pad = padding > 0 ? ` ${"x".repeat(padding)}` : "";
  const pauses = pause > 0
    ? ` if (i % ${perPause} == 0) { fflush(); system("sleep ${pause}") }`
    : "";
  const print = stderrEvery > 0
    ? `if (i % ${stderrEvery} == 0) printf "line %d err${pad}\\n", i > "/dev/stderr"; else printf "line %d${pad}\\n", i;`
    : `printf "line %d${pad}\\n", i;`;
  return `awk 'BEGIN { for (i = 1; i <= ${count}; i++) { ${print}${pauses} } }'; exit ${exit}`;
}

/** What the log holds of the numbered lines. */
export interface LineAccount {
  /** Numbers missing. */
  lost: number[];
  /** Numbers seen more than once. */
  duplicated: number[];
  /** Numbers seen out of order (after a larger one). */
  outOfOrder: number[];
}

/**
 * Accounts for lines 1..count in a build log. The order is checked within each stream:
 * stdout and stderr reach the log through separate pipes, so between them it is the
 * container runtime's, line by line.
 */
export function accountLines(log: string, count: number): LineAccount {
  const seen = new Map<number, number>();
  const outOfOrder: number[] = [];
  const last = { out: 0, err: 0 };
  for (const match of log.matchAll(/^line (\d+)( err)?\b/gm)) {
    const n = Number(match[1]);
    const stream = match[2] ? "err" : "out";
    seen.set(n, (seen.get(n) ?? 0) + 1);
    if (n < last[stream]) outOfOrder.push(n);
    last[stream] = Math.max(last[stream], n);
  }
  const lost: number[] = [];
  const duplicated: number[] = [];
  for (let n = 1; n <= count; n++) {
    const times = seen.get(n) ?? 0;
    if (times === 0) lost.push(n);
    if (times > 1) duplicated.push(n);
  }
  return { lost, duplicated, outOfOrder };
}

/** Asserts that lines 1..count each appear exactly once, in order within their stream. */
export function assertEveryLineOnce(log: string, count: number): void {
  const { lost, duplicated, outOfOrder } = accountLines(log, count);
  assert.deepEqual(
    {
      lost: lost.slice(0, 10),
      duplicated: duplicated.slice(0, 10),
      outOfOrder: outOfOrder.slice(0, 10),
    },
    { lost: [], duplicated: [], outOfOrder: [] },
    `lost ${lost.length}, duplicated ${duplicated.length}, out of order ${outOfOrder.length}`,
  );
}
