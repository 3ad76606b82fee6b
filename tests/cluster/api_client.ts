/**
 * A small REST client for the Kubernetes API: bearer token, the cluster's CA, JSON in and
 * out, watch streams as async iterables. The control plane tooling and the node agent use it
 * instead of a generated client so that every request they make is visible here.
 *
 * @module
 */

import type { Status, WatchEvent } from "./kube_types.ts";

/** Where the API server is and how to authenticate to it. */
export interface ApiConnection {
  /** `https://127.0.0.1:PORT` */
  server: string;
  token: string;
  /** PEM of the CA that signed the server certificate. */
  caCert: string;
}

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Options of one request. */
export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Content type of the body (default `application/json`). */
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Per-request timeout (default 30 s); watches have none. */
  timeoutMs?: number;
}

/** An error answer of the API server, keeping its status object. */
export class ApiError extends Error {
  /** HTTP status code. */
  readonly code: number;
  /** The Status reason (`NotFound`, `AlreadyExists`, `Conflict`, `Expired`, …). */
  readonly reason: string;

  /** Builds the error from the HTTP status and the API's Status body (if any). */
  constructor(code: number, status: Status | undefined, what: string) {
    super(`${what}: ${status?.message ?? `HTTP ${code}`}`);
    this.name = "ApiError";
    this.code = code;
    this.reason = status?.reason ?? "";
  }
}

/** A client bound to one API server. */
export class ApiClient {
  readonly connection: ApiConnection;
  #http: Deno.HttpClient;

  /** Creates a client; call `close()` when done. */
  constructor(connection: ApiConnection) {
    this.connection = connection;
    this.#http = Deno.createHttpClient({ caCerts: [connection.caCert] });
  }

  /** Sends a request and returns the decoded JSON answer. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#fetch(method, path, options, options.timeoutMs ?? 30_000);
    const text = await response.text();
    if (!response.ok) throw errorFrom(response.status, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** GET, returning JSON. */
  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { query, signal });
  }

  /** POST a JSON body. */
  post<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>("POST", path, { body, query });
  }

  /** PUT a JSON body. */
  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, { body });
  }

  /** PATCH with a JSON merge patch (or the given patch type). */
  patch<T>(path: string, body: unknown, contentType = "application/merge-patch+json"): Promise<T> {
    return this.request<T>("PATCH", path, { body, contentType });
  }

  /** DELETE, optionally with DeleteOptions. */
  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("DELETE", path, { body });
  }

  /**
   * Opens a raw streaming GET (logs, watches). The caller reads and cancels the body;
   * the signal aborts it.
   */
  async stream(path: string, query: Query, signal?: AbortSignal): Promise<Response> {
    const response = await this.#fetch("GET", path, { query, signal }, undefined);
    if (!response.ok) {
      throw errorFrom(response.status, await response.text(), `GET ${path}`);
    }
    return response;
  }

  /**
   * Watches a collection: yields events until the server ends the stream. The caller
   * handles `ERROR` events (410 Expired means: list again).
   */
  async *watch<T>(path: string, query: Query, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const response = await this.stream(path, { ...query, watch: true }, signal);
    for await (const line of lines(response.body!)) {
      if (line.trim()) yield JSON.parse(line) as WatchEvent<T>;
    }
  }

  /** Releases the connection pool. */
  close(): void {
    this.#http.close();
  }

  #fetch(
    method: string,
    path: string,
    options: RequestOptions,
    timeoutMs: number | undefined,
  ): Promise<Response> {
    const url = new URL(path, this.connection.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const signals = [options.signal, timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined]
      .filter((signal): signal is AbortSignal => signal !== undefined);
    return fetch(url, {
      method,
      client: this.#http,
      headers: {
        authorization: `Bearer ${this.connection.token}`,
        accept: "application/json",
        ...(options.body === undefined
          ? {}
          : { "content-type": options.contentType ?? "application/json" }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: signals.length ? AbortSignal.any(signals) : undefined,
    });
  }
}

function errorFrom(code: number, text: string, what: string): ApiError {
  let status: Status | undefined;
  try {
    status = JSON.parse(text) as Status;
  } catch {
    status = { message: text.trim() || undefined };
  }
  return new ApiError(code, status, what);
}

/** Whether an error is the API's answer with this HTTP status. */
export function isApiError(error: unknown, code: number): error is ApiError {
  return error instanceof ApiError && error.code === code;
}

/** Splits a byte stream into text lines (without the newline). */
export async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    let at: number;
    while ((at = pending.indexOf("\n", start)) >= 0) {
      yield pending.slice(start, at);
      start = at + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending) yield pending;
}
