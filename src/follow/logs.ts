/**
 * A container's log, streamed live and resumed after a dropped connection with `sinceTime`
 * and timestamps, so that no line is lost or repeated; read to its last line after the
 * container ends.
 *
 * @module
 */
import { type Api, ApiError } from "../kube/client.ts";
import { sleep } from "./informer.ts";

/** A timestamp as the kubelet writes it (RFC3339Nano, UTC), made comparable as text. */
export function normaliseTimestamp(timestamp: string): string | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(timestamp);
  if (!match) return undefined;
  return `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}Z`;
}

/** The whole seconds since the epoch of a kubelet timestamp. */
function secondOf(timestamp: string): number {
  return Math.floor(Date.parse(`${timestamp.slice(0, 19)}Z`) / 1000);
}

/**
 * Where a log stream has got to, so that a resumed stream repeats nothing and loses
 * nothing. The kubelet serves a container's log in the order it was written (stdout and
 * stderr interleaved), and `sinceTime` reaches it in whole seconds: a stream resumed from
 * second S replays, in the same order, every line stamped S or later. The cursor resumes a
 * second before the last line shown, since containerd stamps stdout and stderr on separate
 * goroutines and a line written later may carry an earlier time, and skips the replayed
 * lines it has shown, matched one by one. A live stream drops nothing, whatever its times:
 * a stamp that goes backwards (an interleaved stream, an NTP step) is still a new line.
 */
export class LogCursor {
  /** The lines shown lately (`<timestamp> <content>`), in order, with their second. */
  #recent: { second: number; line: string }[] = [];
  #lastSecond: number | undefined;
  #replay: string[] = [];
  #replayed = 0;

  /** The query that resumes after the lines shown so far. */
  resume(): { sinceTime?: string } {
    if (this.#lastSecond === undefined) return {};
    const since = this.#lastSecond - 1;
    this.#replay = this.#recent.filter((entry) => entry.second >= since)
      .map((entry) => entry.line);
    this.#replayed = 0;
    return { sinceTime: new Date(since * 1000).toISOString().replace(/\.\d+Z$/, "Z") };
  }

  /** The content of a `<timestamp> <content>` line to show, or undefined when already shown. */
  accept(line: string): string | undefined {
    const space = line.indexOf(" ");
    const raw = space === -1 ? line : line.slice(0, space);
    const timestamp = normaliseTimestamp(raw);
    if (timestamp === undefined) return line;
    if (this.#isReplayed(line)) return undefined;
    this.#remember(secondOf(timestamp), line);
    return space === -1 ? "" : line.slice(space + 1);
  }

  #isReplayed(line: string): boolean {
    if (this.#replayed >= this.#replay.length) return false;
    if (this.#replay[this.#replayed] === line) {
      this.#replayed++;
      return true;
    }
    // The kubelet rotated the log meanwhile: the replay starts inside what was shown.
    const at = this.#replayed === 0 ? this.#replay.indexOf(line) : -1;
    if (at > 0) {
      this.#replayed = at + 1;
      return true;
    }
    this.#replay = [];
    return false;
  }

  #remember(second: number, line: string): void {
    this.#lastSecond = second;
    this.#recent.push({ second, line });
    if (this.#recent.length % 1024 === 0) {
      this.#recent = this.#recent.filter((entry) => entry.second >= second - 1);
    }
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
  /** Writes the log's text; resolves when written (back-pressure). */
  write: (text: string) => Promise<void>;
  /** Stops following. */
  signal: AbortSignal;
  /** Reports reconnections, for debugging. */
  log?: (message: string) => void;
  /** How long a followed log may stay open after its container ended (default 10 s). */
  endedStreamGraceMs?: number;
}

/** Why following ended: `refused` carries the API server's message. */
export type LogEnd = "complete" | "pod-gone" | "aborted" | { refused: string };

const WAITING = /is waiting to start|PodInitializing|ContainerCreating/;

/**
 * How long a followed log may stay open after its container ended. The kubelet ends it at
 * once; one still open is stalled, and a read of what is left replaces it.
 */
const ENDED_STREAM_GRACE_MS = 10_000;

/** Follows a container's log from its start to its last line. */
export async function followLog(options: FollowLogOptions): Promise<LogEnd> {
  const { api, progress, signal } = options;
  const path = `/api/v1/namespaces/${options.namespace}/pods/${options.pod}/log`;
  const cursor = new LogCursor();
  const decoder = new TextDecoder();
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
        let pending = "";
        try {
          for await (const chunk of body) {
            pending += decoder.decode(chunk as Uint8Array, { stream: true });
            const lastNewline = pending.lastIndexOf("\n");
            if (lastNewline === -1) continue;
            const complete = pending.slice(0, lastNewline);
            pending = pending.slice(lastNewline + 1);
            const shown = show(complete, cursor);
            if (shown) await options.write(shown);
            delayMs = 100;
          }
        } finally {
          body.destroy();
        }
        pending += decoder.decode();
        // A partial last line of a finished log is complete; of a live stream, it comes again.
        if (final && pending !== "") {
          const shown = show(pending, cursor);
          if (shown) await options.write(shown);
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

/** The shown part of complete lines, each with its newline. */
function show(text: string, cursor: LogCursor): string {
  let out = "";
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const content = cursor.accept(text.slice(start, end));
    if (content !== undefined) out += content + "\n";
    start = end + 1;
  }
  return out;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
