/**
 * The steps both plugins run: shell commands (the step's `command`, run by `/bin/sh -e -c`
 * in the step container) that print numbered lines, take a known time and end with the
 * container's clock. The node agent runs containers on the host's own files, so `awk`,
 * `sleep` and GNU `date` are there.
 *
 * @module
 */

import { END_MARKER, START_MARKER } from "./log_fidelity.ts";

/** A step to run through a plugin. */
export interface Step {
  /** The step's command (`BUILDKITE_COMMAND`). */
  command: string;
  /** How many numbered lines it prints. */
  lines: number;
  /** About how long it runs, seconds. */
  seconds: number;
}

// `$(date …)` is not a Kubernetes `$(VAR)` reference (no such variable), so it reaches the
// shell unchanged; the step avoids `$((…))`, which Kubernetes would also leave alone but a
// reader might doubt.
// `/usr/bin/date` by its path: a busybox shell built as a standalone shell (Debian's, the local
// node's alpine stand-in) runs its own `date` applet, which has no `%N`, for a bare `date`.
const END = `echo "${END_MARKER} $(/usr/bin/date +%s%N)"`;
const START = `echo "${START_MARKER} $(/usr/bin/date +%s%N)"`;

function numberedLines(count: number, perBatch: number, pauseSeconds: number): string {
  const pause = pauseSeconds > 0 && perBatch > 0
    ? ` if (i % ${perBatch} == 0) { fflush(); system("sleep ${pauseSeconds}") }`
    : "";
  return `awk 'BEGIN { for (i = 1; i <= ${count}; i++) { printf "line-%06d\\n", i;${pause} } }'`;
}

/** Prints `lines` numbered lines at once, sleeps `seconds`, then prints the end marker. */
export function sleepStep(seconds: number, lines: number): Step {
  return { command: `${numberedLines(lines, 0, 0)}; sleep ${seconds}; ${END}`, lines, seconds };
}

/**
 * Prints `lines` numbered lines spread over about `seconds` (100 batches with a pause after
 * each), then the end marker: a log long enough to be cut in the middle.
 */
export function streamingStep(lines: number, seconds: number): Step {
  const batches = 100;
  const perBatch = Math.max(1, Math.ceil(lines / batches));
  const pause = Math.round((seconds / batches) * 1000) / 1000;
  return { command: `${numberedLines(lines, perBatch, pause)}; ${END}`, lines, seconds };
}

/** What starts each numbered line of a big log step: `big-0000001 xxx…`. */
export const BIG_LINE_PREFIX = "big-";

/** The length of each numbered line of a big log step, its newline included. */
export const BIG_LINE_BYTES = 100;

/** The digits of a big log line's number. */
export const BIG_LINE_DIGITS = 7;

/** The filler after a big log line's number and a space, up to `BIG_LINE_BYTES`. */
export const BIG_LINE_FILLER = "x".repeat(
  BIG_LINE_BYTES - BIG_LINE_PREFIX.length - BIG_LINE_DIGITS - 2,
);

/**
 * Prints its start time, then `megabytes` MB (10^6 bytes) of numbered lines of
 * `BIG_LINE_BYTES` each as fast as awk writes them, then the end marker: a big log, whose
 * every line can be told apart.
 */
export function bigLogStep(megabytes: number): Step {
  const lines = Math.round((megabytes * 1e6) / BIG_LINE_BYTES);
  if (lines < 1 || String(lines).length > BIG_LINE_DIGITS) {
    throw new Error(
      `a big log step prints 1 to ${"9".repeat(BIG_LINE_DIGITS)} lines, not ${lines}`,
    );
  }
  const format = `${BIG_LINE_PREFIX}%0${BIG_LINE_DIGITS}d ${BIG_LINE_FILLER}\\n`;
  const print = `awk 'BEGIN { for (i = 1; i <= ${lines}; i++) printf "${format}", i }'`;
  // A generous bound for the hook's time limit: 1 MB/s.
  return { command: `${START}; ${print}; ${END}`, lines, seconds: Math.ceil(megabytes) };
}
