/**
 * A thin JSON and streaming transport to the Kubernetes API, with the server's own messages
 * in its errors and credentials renewed for each request (a rotated token, an expired exec
 * credential). Which cluster and who we are come from `kubeconfig.ts`.
 *
 * Requests go through Deno's own `fetch`, which costs a hook process far less memory than
 * Node's `https` module; the two TLS settings `fetch` cannot express (a certificate not
 * verified, a server name other than the URL's host) are left to `node_transport.ts`,
 * loaded only for them.
 *
 * @module
 */
import { concatBytes } from "../text.ts";
import { streamingGet } from "./http1_stream.ts";
import type { ClusterAccess, Credentials } from "./kubeconfig.ts";

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
export type StreamResponse = Answer;

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

/** What a transport is asked to send: one request, its credentials, and how to end it. */
export interface Exchange {
  /** The HTTP method. */
  method: string;
  /** The whole URL, query included. */
  url: URL;
  /** The request's headers, credentials' included. */
  headers: Record<string, string>;
  /** A JSON body, already serialised. */
  body?: string;
  /** The request's credentials (a client certificate, when the user has one). */
  credentials: Credentials;
  /** Ends the request and its response's body. */
  signal: AbortSignal;
  /** A watch or log stream (its own connection), rather than a short request (pooled). */
  stream: boolean;
}

/** A response whose body the caller reads, and destroys when done with it. */
export interface Answer {
  /** HTTP status. */
  status: number;
  /** The response body. */
  body: ResponseBody;
}

/** A response body: its chunks as they arrive; `destroy` ends it early. */
export interface ResponseBody extends AsyncIterable<Uint8Array> {
  /** Stops reading and closes the stream; a read in progress ends, or fails. */
  destroy(): void;
}

/** Carries requests to one API server. */
export interface Transport {
  /** Sends `exchange`; resolves once the answer's headers arrived. */
  send(exchange: Exchange): Promise<Answer>;
  /** Closes idle connections. */
  close(): void;
}

/** How much of a response body one read brings at most. */
const READ_BYTES = 64 * 1024;

/**
 * A `fetch` body as a {@link ResponseBody}, ended by `signal`.
 *
 * Read into a buffer of its own, reused, and each chunk handed on as a copy of its size:
 * `fetch`'s own reads give each chunk a view of a larger buffer that the garbage collector
 * does not count, so a log read at speed held about 20 times its size (131 MB of memory for a
 * 7 MB log, 52 MB so).
 *
 * The abort is carried to the body here, not left to `fetch`: the request `fetch` makes
 * follows the signal through a signal of its own, which nothing holds once the response has
 * come, and so, once garbage collected, no longer passes an abort on: a watch would live on
 * until the server ends it.
 */
function fetchBody(response: Response, signal: AbortSignal): ResponseBody {
  const reader = response.body?.getReader({ mode: "byob" });
  const cancel = () => void reader?.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  return {
    async *[Symbol.asyncIterator]() {
      if (!reader) return;
      let buffer = new Uint8Array(READ_BYTES);
      try {
        for (;;) {
          const { done, value } = await reader.read(buffer);
          if (signal.aborted) throw signal.reason;
          if (done || !value) return;
          yield value.slice();
          buffer = new Uint8Array(value.buffer);
        }
      } finally {
        signal.removeEventListener("abort", cancel);
      }
    },
    destroy() {
      signal.removeEventListener("abort", cancel);
      reader?.cancel().catch(() => {});
    },
  };
}

/**
 * Whether a proxy is configured, which `fetch` honours (with `NO_PROXY`), as kubectl does: then
 * streams go through `fetch` too, slower but by the same way as every other request.
 */
const PROXIED = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
  .some((name) => Boolean(Deno.env.get(name)));

/** The two HTTP clients of one identity: pooled for short requests, unpooled for streams. */
interface ClientPair {
  requests: Deno.HttpClient;
  streams: Deno.HttpClient;
}

/**
 * Requests through `fetch`, HTTP/1.1, with the cluster's CA certificates and the user's
 * client certificate. Deno adds `caCerts` to its own roots rather than replacing them; a
 * kubeconfig's CA is trusted as kubectl trusts it, and public CAs as well.
 */
export class FetchTransport implements Transport {
  readonly #ca: string[];
  /** A pair per client certificate: exec credentials may hand out a new one. */
  readonly #clients = new Map<string, ClientPair>();

  /** For the cluster `access` describes. */
  constructor(access: Pick<ClusterAccess, "ca">) {
    this.#ca = access.ca ? [access.ca] : [];
  }

  #clientsFor(credentials: Credentials): ClientPair {
    const identity = `${credentials.cert ?? ""}\0${credentials.key ?? ""}`;
    let pair = this.#clients.get(identity);
    if (!pair) {
      const tls = credentials.cert && credentials.key
        ? { cert: credentials.cert, key: credentials.key }
        : {};
      const common = { caCerts: this.#ca, http2: false, ...tls };
      pair = {
        requests: Deno.createHttpClient({ ...common, poolMaxIdlePerHost: 16 }),
        // Watches and log streams live long, so reuse saves nothing, and a stream never
        // waits on a pooled connection gone bad.
        streams: Deno.createHttpClient({ ...common, poolMaxIdlePerHost: 0 }),
      };
      this.#clients.set(identity, pair);
    }
    return pair;
  }

  /** Sends `exchange`: a stream on a connection of its own, a short request with `fetch`. */
  async send(exchange: Exchange): Promise<Answer> {
    if (exchange.stream && exchange.method === "GET" && !PROXIED) {
      const { cert, key } = exchange.credentials;
      return await streamingGet(exchange.url, exchange.headers, {
        ca: this.#ca[0],
        cert,
        key,
      }, exchange.signal);
    }
    const clients = this.#clientsFor(exchange.credentials);
    const response = await fetch(exchange.url, {
      method: exchange.method,
      headers: exchange.headers,
      body: exchange.body,
      signal: exchange.signal,
      client: exchange.stream ? clients.streams : clients.requests,
    });
    return { status: response.status, body: fetchBody(response, exchange.signal) };
  }

  /** Closes every client's connections. */
  close(): void {
    for (const pair of this.#clients.values()) {
      pair.requests.close();
      pair.streams.close();
    }
    this.#clients.clear();
  }
}

/**
 * The transport `access` needs: `fetch`, unless a TLS setting only Node's `https` has, or a
 * client certificate of X.509 version 1 (which `fetch`'s TLS refuses, and kubectl accepts).
 */
async function transportFor(access: ClusterAccess): Promise<Transport> {
  const { cert } = await access.credentials();
  const fetchCan = access.verify && access.serverName === undefined &&
    !(cert && isVersion1Certificate(cert));
  if (fetchCan) return new FetchTransport(access);
  const { NodeTransport } = await import("./node_transport.ts");
  return new NodeTransport(access);
}

/**
 * Whether the first certificate of `pem` is X.509 version 1: its `tbsCertificate` does not
 * begin with the `[0]` version field, which DER leaves out for version 1 alone.
 */
export function isVersion1Certificate(pem: string): boolean {
  const body = pem.match(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/)?.[1];
  if (!body) return false;
  let der: Uint8Array;
  try {
    der = Uint8Array.from(atob(body.replace(/\s+/g, "")), (char) => char.charCodeAt(0));
  } catch {
    return false;
  }
  /** Where the contents of the DER element at `at` begin (after its tag and length). */
  const contents = (at: number) => {
    const length = der[at + 1];
    return at + 2 + (length & 0x80 ? length & 0x7f : 0);
  };
  const SEQUENCE = 0x30;
  const VERSION = 0xa0;
  if (der[0] !== SEQUENCE) return false;
  const tbs = contents(0);
  if (der[tbs] !== SEQUENCE) return false;
  return der[contents(tbs)] !== VERSION;
}

/**
 * Why a request got no answer. `fetch` says only "fetch failed" and keeps the reason (a
 * refused connection, an untrusted certificate) in its cause, after the URL, which the
 * caller's message already names.
 */
function failureMessage(error: unknown): string {
  const cause = (error as Error).cause;
  if (cause instanceof Error) {
    return cause.message.replace(/^error sending request for url \([^)]*\): /, "");
  }
  return (error as Error).message;
}

/** A body read to its end, as text. */
async function readText(body: ResponseBody): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return new TextDecoder().decode(concatBytes(chunks));
}

/** A request in flight, with the timer that bounds the whole of it. */
interface Sent extends Answer {
  /** Stops the request's overall timer (`timeoutMs`) and its abort, once its body is done. */
  settle(): void;
}

/**
 * Aborts `ending` if `ms` pass before the returned function is called. A timeout signal
 * rather than `setTimeout`, whose first call in a process loads Node's timers: about 5 ms of
 * CPU, in a program as short as the pre-exit hook's. Its timer keeps no process alive, and
 * once the function is called, runs out with nothing to abort.
 */
function abortAfter(ending: AbortController, ms: number): () => void {
  const timeout = AbortSignal.timeout(ms);
  const giveUp = () => ending.abort(new Error(`no answer within ${ms} ms`));
  timeout.addEventListener("abort", giveUp, { once: true });
  return () => timeout.removeEventListener("abort", giveUp);
}

/** The Kubernetes API of one cluster: JSON requests and streams, counted. */
export class Api {
  /** The API server's URL. */
  readonly server: string;
  /** How many requests this process made, for measurements. */
  requests = 0;
  readonly #access: ClusterAccess;
  #transport: Promise<Transport> | undefined;

  /** Talks to the cluster `access` describes; `transport` replaces the one it needs. */
  constructor(access: ClusterAccess, transport?: Transport) {
    this.server = access.server;
    this.#access = access;
    this.#transport = transport && Promise.resolve(transport);
  }

  /** What a request that failed without an answer throws: the caller's abort, or an ApiError. */
  #failure(what: string, error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason ?? error;
    return new ApiError(0, "", `${what}: ${failureMessage(error)}`);
  }

  async #send(
    method: string,
    path: string,
    options: RequestOptions,
    stream = false,
  ): Promise<Sent> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const credentials = await this.#access.credentials();
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...credentials.headers,
      Accept: options.accept ?? "application/json",
    };
    if (body !== undefined) headers["Content-Type"] = options.contentType ?? "application/json";
    // Every request must be answered (headers at least) in time, watches included: a request
    // that never gets its answer would otherwise wait as long as the server lets a watch live.
    // One controller ends the request, its body included, for the caller's abort and for
    // either time limit. Not `AbortSignal.any`: a signal it makes is held only weakly by its
    // sources, so once collected, an abort would no longer reach a stream being read.
    const ending = new AbortController();
    const answered = options.answerWhenever ? undefined : abortAfter(ending, ANSWER_MS);
    const done = options.timeoutMs ? abortAfter(ending, options.timeoutMs) : undefined;
    const callerAborted = () => ending.abort(options.signal!.reason);
    if (options.signal?.aborted) callerAborted();
    else options.signal?.addEventListener("abort", callerAborted, { once: true });
    const settle = () => {
      done?.();
      options.signal?.removeEventListener("abort", callerAborted);
    };
    this.#transport ??= transportFor(this.#access);
    this.requests++;
    try {
      const transport = await this.#transport;
      const answer = await transport.send({
        method,
        url,
        headers,
        body,
        credentials,
        signal: ending.signal,
        stream,
      });
      return { ...answer, settle };
    } catch (error) {
      settle();
      throw this.#failure(`${method} ${url.pathname}`, error, options.signal);
    } finally {
      answered?.();
    }
  }

  /** A JSON request; throws ApiError with the server's message on a non-2xx answer. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const answer = await this.#send(method, path, options);
    let text: string;
    try {
      text = await readText(answer.body);
    } catch (error) {
      throw this.#failure(`${method} ${path}`, error, options.signal);
    } finally {
      answer.settle();
    }
    if (answer.status < 200 || answer.status >= 300) {
      const { reason, message } = statusMessage(answer.status, text);
      throw new ApiError(answer.status, reason, message);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A streaming GET (watch, follow logs). Throws ApiError with the server's message on a
   * non-2xx answer; the caller reads `body` until it ends and destroys it when done. An abort
   * of `signal` ends the body too.
   */
  async stream(path: string, options: RequestOptions = {}): Promise<StreamResponse> {
    const answer = await this.#send("GET", path, options, true);
    if (answer.status < 200 || answer.status >= 300) {
      const text = await readText(answer.body).catch((error) => (error as Error).message);
      answer.settle();
      const { reason, message } = statusMessage(answer.status, text);
      throw new ApiError(answer.status, reason, message);
    }
    const { body } = answer;
    return {
      status: answer.status,
      body: {
        [Symbol.asyncIterator]: () => body[Symbol.asyncIterator](),
        destroy() {
          answer.settle();
          body.destroy();
        },
      },
    };
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
      if (!idle) throw new ApiError(0, "", `watch ${path}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      body.destroy();
    }
    if (idle) throw new ApiError(0, "", `watch ${path}: nothing arrived for ${options.idleMs} ms`);
  }

  /** Closes idle connections so the process can exit. */
  close(): void {
    this.#transport?.then((transport) => transport.close(), () => {});
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
