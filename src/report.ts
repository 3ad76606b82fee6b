/**
 * What the build log and the build page show: the pod's output as it comes, the plugin's
 * own lines (always marked `:kubernetes:` or `kubernetes plugin:`), and for an
 * infrastructure failure a diagnosis with the recent Events, also as an annotation.
 *
 * @module
 */
import type { CoreV1Event } from "@kubernetes/client-node";
import type { DiagnosisRow } from "./verdict.ts";
import { WriteBehind } from "./write_behind.ts";

const encoder = new TextEncoder();

/** The hook's standard output, written behind: one for the process, whoever writes to it. */
let stdout: WriteBehind | undefined;

/**
 * The build log: the hook's standard output. Writes wait for the reader (back-pressure), once
 * more than a little waits to be written; `flushed` waits for all of it.
 */
export class Output {
  readonly #sink: (bytes: Uint8Array) => Promise<void>;
  readonly #flushed: () => Promise<void>;
  #queue: Promise<void> = Promise.resolve();

  /** Writes through `sink` (default: standard output). */
  constructor(sink?: (bytes: Uint8Array) => Promise<void>) {
    if (sink) {
      this.#sink = sink;
      this.#flushed = () => Promise.resolve();
    } else {
      const writer = stdout ??= new WriteBehind((bytes) => Deno.stdout.write(bytes));
      this.#sink = (bytes) => writer.write(bytes);
      this.#flushed = () => writer.flushed();
    }
  }

  /** Resolves once everything written so far has reached the sink; rejects if writing failed. */
  async flushed(): Promise<void> {
    await this.#queue;
    await this.#flushed();
  }

  /**
   * Writes text, or bytes as they are (a container's output, whatever its encoding), after
   * everything written before it.
   */
  write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.#queue = this.#queue.then(() => this.#sink(bytes));
    return this.#queue;
  }

  /** A Buildkite log group header: `---` collapsed, `+++` expanded, `~~~` collapsed and quiet. */
  group(kind: "---" | "+++" | "~~~", title: string): Promise<void> {
    return this.write(`${kind} :kubernetes: ${title}\n`);
  }

  /** One of the plugin's own lines. */
  note(message: string): Promise<void> {
    return this.write(`kubernetes plugin: ${message}\n`);
  }
}

function age(timestamp: Date | string | undefined, now: number): string {
  if (!timestamp) return "?";
  const seconds = Math.max(0, Math.round((now - new Date(timestamp).getTime()) / 1000));
  return seconds < 120 ? `${seconds}s` : `${Math.round(seconds / 60)}m`;
}

/** The most recent events, newest last, at most `limit`. */
export function recentEvents(events: CoreV1Event[], limit = 10): CoreV1Event[] {
  const time = (event: CoreV1Event) =>
    new Date(
      event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ??
        event.metadata?.creationTimestamp ?? 0,
    ).getTime();
  return [...events].sort((a, b) => time(a) - time(b)).slice(-limit);
}

/** The diagnosis of an infrastructure failure: what failed where, then the recent Events. */
export function diagnosisText(rows: DiagnosisRow[], events: CoreV1Event[], now: number): string {
  const lines: string[] = [];
  for (const row of rows) {
    const parts = [
      row.container && `container: ${row.container}`,
      row.image && `image: ${row.image}`,
      row.reason && `reason: ${row.reason}`,
      row.message && `message: ${row.message}`,
    ].filter(Boolean);
    if (parts.length) lines.push(parts.join("\n"));
  }
  const recent = recentEvents(events);
  if (recent.length > 0) {
    lines.push("recent events:");
    for (const event of recent) {
      const object = `${event.involvedObject.kind}/${event.involvedObject.name}`;
      const count = (event.count ?? 1) > 1 ? ` (x${event.count})` : "";
      lines.push(
        `  ${
          age(event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp, now).padStart(4)
        }  ` +
          `${(event.type ?? "").padEnd(7)}  ${(event.reason ?? "").padEnd(18)}  ${object}: ${
            event.message ?? ""
          }${count}`,
      );
    }
  }
  return lines.join("\n");
}

/** The markdown of the build annotation for an infrastructure failure. */
export function annotationMarkdown(summary: string, diagnosis: string): string {
  return `**:kubernetes: ${summary}**\n\n\`\`\`\n${diagnosis.replaceAll("```", "'''")}\n\`\`\`\n`;
}

function agentBinary(env: Record<string, string | undefined>): string | undefined {
  const candidates = [
    env.BUILDKITE_BIN_PATH && `${env.BUILDKITE_BIN_PATH}/buildkite-agent`,
    ...(env.PATH ?? "").split(":").filter(Boolean).map((dir) => `${dir}/buildkite-agent`),
  ];
  return candidates.find((path): path is string => Boolean(path) && isFile(path!));
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** How long `buildkite-agent annotate` may take. */
const ANNOTATE_TIMEOUT_MS = 5000;

/**
 * Adds a build annotation with `buildkite-agent annotate`, when the agent and its job token
 * are at hand. Best effort: a failure is reported, never fatal; gives up after 5 seconds.
 */
export async function annotate(
  markdown: string,
  context: string,
  env: Record<string, string | undefined>,
  output: Output,
): Promise<void> {
  const binary = agentBinary(env);
  if (!binary || !env.BUILDKITE_AGENT_ACCESS_TOKEN) return;
  const result = await runAnnotate(binary, markdown, context);
  if (result) await output.note(`could not add the build annotation (${result})`);
}

/** Runs `buildkite-agent annotate` with `markdown` on its input; returns what went wrong. */
async function runAnnotate(
  binary: string,
  markdown: string,
  context: string,
): Promise<string | undefined> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(binary, {
      args: ["annotate", "--style", "error", "--context", context],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    return (error as Error).message;
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), ANNOTATE_TIMEOUT_MS);
  // An agent that exits without reading its input must not take the step down with it.
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(markdown)).then(() => writer.close()).catch(() => {});
  const { code, stderr } = await child.output();
  clearTimeout(timer);
  if (code === 0) return undefined;
  return `exit ${code}: ${new TextDecoder().decode(stderr).trim().split("\n").at(-1) ?? ""}`;
}
