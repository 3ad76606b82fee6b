/**
 * A thin JSON and streaming transport to the Kubernetes API, with the server's own messages
 * in its errors and credentials renewed for each request (a rotated token, an expired exec
 * credential). Which cluster and who we are come from `kubeconfig.ts`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as http from "node:http";
import * as https from "node:https";
import type { Readable } from "node:stream";
import type { ClusterAccess } from "./kubeconfig.ts";

/** A failed API request: the HTTP status and the server's own `Status` message. */
export class ApiError extends Error {
  /** HTTP status; 0 when no response arrived (connection refused, reset, timeout). */
  readonly status: number;
  /** The server's `Status.reason` (`NotFound`, `AlreadyExists`, `Forbidden`, `Expired`…). */
  readonly reason: string;

  /** Creates an error for a request that failed with `status`. */
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
  }

  /** Whether retrying may help: no response, 429, or a 5xx. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** How long any request may wait for the API server's answer to begin. */
const ANSWER_MS = 30_000;

/** A streaming response: status, and the body to read until it ends. */
export interface StreamResponse {
  /** HTTP status. */
  status: number;
  /** The response body. */
  body: Readable;
}

/** A request to the API server. */
export interface RequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body. */
  body?: unknown;
  /** The body's content type (default JSON; merge patches need their own). */
  contentType?: string;
  /** The `Accept` header (default JSON), e.g. a list of the objects' metadata alone. */
  accept?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Gives up on a request that has not answered within this many milliseconds. */
  timeoutMs?: number;
  /**
   * Waits for the answer to begin as long as `signal` allows. For a followed log only: the
   * kubelet answers it with the container's first output, which may be long in coming.
   */
  answerWhenever?: boolean;
}

function statusMessage(status: number, text: string): { reason: string; message: string } {
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && typeof parsed.message === "string") {
      return { reason: String(parsed.reason ?? ""), message: parsed.message };
    }
  } catch {
    // Not a Status object: fall through to the raw text.
  }
  return { reason: "", message: text.trim() || `HTTP ${status}` };
}

/** The Kubernetes API of one cluster: JSON requests and streams, counted. */
export class Api {
  /** The API server's URL. */
  readonly server: string;
  /** How many requests this process made, for measurements. */
  requests = 0;
  readonly #access: ClusterAccess;
  /** Connections kept for the short requests, which come in bursts. */
  readonly #agent: http.Agent;
  /**
   * Connections of their own for watches and log streams: they live long, so reuse saves
   * nothing, and a stream never waits on a pooled connection gone bad.
   */
  readonly #streamAgent: http.Agent;

  /** Talks to the cluster `access` describes. */
  constructor(access: ClusterAccess) {
    this.server = access.server;
    this.#access = access;
    const secure = this.server.startsWith("https:");
    this.#agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 16 })
      : new http.Agent({ keepAlive: true, maxSockets: 16 });
    this.#streamAgent = secure
      ? new https.Agent({ keepAlive: false })
      : new http.Agent({ keepAlive: false });
  }

  async #send(
    method: string,
    path: string,
    options: RequestOptions,
    stream = false,
  ): Promise<http.IncomingMessage> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const credentials = await this.#access.credentials();
    const requestOptions: https.RequestOptions = {
      ca: this.#access.ca,
      cert: credentials.cert,
      key: credentials.key,
      rejectUnauthorized: this.#access.verify,
      servername: this.#access.serverName,
    };
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...credentials.headers,
      Accept: options.accept ?? "application/json",
    };
    if (body !== undefined) {
      headers["Content-Type"] = options.contentType ?? "application/json";
      // Without an explicit length, a DELETE goes out with no body (and so no propagationPolicy).
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    this.requests++;
    return await new Promise((resolve, reject) => {
      const transport = url.protocol === "https:" ? https : http;
      // Every request must be answered (headers at least) in time, watches included: a
      // request that never gets its answer would otherwise wait as long as the server lets a
      // watch live.
      const unanswered = options.answerWhenever ? undefined : setTimeout(() => {
        request.destroy(new Error(`no answer within ${ANSWER_MS} ms`));
      }, ANSWER_MS);
      const request = transport.request(url, {
        ...requestOptions,
        agent: stream ? this.#streamAgent : this.#agent,
        method,
        headers,
        signal: options.signal,
      }, (response) => {
        clearTimeout(unanswered);
        resolve(response);
      });
      if (options.timeoutMs) {
        request.setTimeout(options.timeoutMs, () => {
          request.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
        });
      }
      request.on("error", (error) => {
        clearTimeout(unanswered);
        if (options.signal?.aborted) reject(options.signal.reason ?? error);
        else reject(new ApiError(0, "", `${method} ${url.pathname}: ${error.message}`));
      });
      request.end(body);
    });
  }

  /** A JSON request; throws ApiError with the server's message on a non-2xx answer. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#send(method, path, options);
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of response) chunks.push(chunk as Uint8Array);
    } catch (error) {
      throw new ApiError(0, "", `${method} ${path}: ${(error as Error).message}`);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const { reason, message } = statusMessage(status, text);
      throw new ApiError(status, reason, message);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A streaming GET (watch, follow logs). Throws ApiError with the server's message on a
   * non-2xx answer; the caller reads `body` until it ends and destroys it when done.
   */
  async stream(path: string, options: RequestOptions = {}): Promise<StreamResponse> {
    const response = await this.#send("GET", path, options, true);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of response) chunks.push(chunk as Uint8Array);
      const { reason, message } = statusMessage(status, Buffer.concat(chunks).toString("utf8"));
      throw new ApiError(status, reason, message);
    }
    // Whether an abort reaches a response already streaming is up to the HTTP stack; make
    // sure it does, or a watch would live on until the server ends it.
    const signal = options.signal;
    if (signal) {
      const destroy = () => response.destroy();
      if (signal.aborted) destroy();
      signal.addEventListener("abort", destroy, { once: true });
      response.once("close", () => signal.removeEventListener("abort", destroy));
    }
    return { status, body: response };
  }

  /**
   * Watch events of a collection as they arrive. Ends when the server closes the watch;
   * throws ApiError for an error answer, and when nothing arrives for `idleMs` (a connection
   * lost without a close), so the caller watches again.
   */
  async *watch<T>(
    path: string,
    query: RequestOptions["query"],
    options: { signal?: AbortSignal; idleMs: number },
  ): AsyncGenerator<WatchEvent<T>> {
    const { body } = await this.stream(path, {
      query: { ...query, watch: true },
      signal: options.signal,
    });
    let idle = false;
    let timer = setTimeout(onIdle, options.idleMs);
    function onIdle() {
      idle = true;
      body.destroy();
    }
    try {
      for await (const line of lines(body)) {
        clearTimeout(timer);
        timer = setTimeout(onIdle, options.idleMs);
        yield JSON.parse(line) as WatchEvent<T>;
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      throw new ApiError(0, "", `watch ${path}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      body.destroy();
    }
    if (idle) throw new ApiError(0, "", `watch ${path}: nothing arrived for ${options.idleMs} ms`);
  }

  /** Closes idle connections so the process can exit. */
  close(): void {
    this.#agent.destroy();
    this.#streamAgent.destroy();
  }
}

/** One event of a watch. */
export interface WatchEvent<T> {
  /** ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. */
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  /** The object, or a Status for ERROR. */
  object: T;
}

/** The complete lines of a byte stream, without their newlines; a final partial line too. */
export async function* lines(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline: number;
    while ((newline = pending.indexOf("\n", start)) !== -1) {
      yield pending.slice(start, newline);
      start = newline + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== "") yield pending;
}
