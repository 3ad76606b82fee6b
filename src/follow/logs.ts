/**
 * A container's log, streamed live and resumed after a dropped connection with `sinceTime`
 * and timestamps, so that no line is lost or repeated (`log_cursor.ts` keeps the place);
 * read to its last line after the container ends. Lines the kubelet no longer serves (a
 * rotated log file) are said missing.
 *
 * @module
 */
import { type Api, ApiError } from "../kube/client.ts";
import { Output } from "../report.ts";
import { sleep } from "./informer.ts";
import { formatTimestamp, LogCursor, type LogGap } from "./log_cursor.ts";

const NEWLINE_BYTES = Uint8Array.of(0x0a);

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

/**
 * Shows a log stream as it comes: each line once complete, and the start of an incomplete
 * line once it has waited `waitMs`. One timer at a time stands for the wait, set when a line
 * starts being held and again when it fires early, not one for every read: reads come a few
 * lines at a time, and a timer per read, with what it held, outlived the garbage collector's
 * young generation.
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
  /** The writes, one after another: the stream's, and the timer's flushes between them. */
  let writing = Promise.resolve();
  const send = (bytes: Uint8Array) => writing = writing.then(() => write(bytes));
  /** When the oldest byte held back came (ms). */
  let heldSince = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flushWhenDue = () => {
    timer = undefined;
    if (!cursor.holding) return;
    const due = heldSince + waitMs - Date.now();
    if (due > 0) timer = setTimeout(flushWhenDue, due);
    // A write that fails fails the stream's next one.
    else send(cursor.flush()).catch(() => {});
  };
  try {
    for await (const chunk of body) {
      const wasHolding = cursor.holding;
      const shown = cursor.take(chunk);
      if (cursor.holding && (!wasHolding || shown.length > 0)) heldSince = Date.now();
      await writing;
      await tellGap();
      if (shown.length > 0) await send(shown);
      if (cursor.holding && timer === undefined) {
        timer = setTimeout(flushWhenDue, heldSince + waitMs - Date.now());
      }
    }
    await writing;
  } finally {
    clearTimeout(timer);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
