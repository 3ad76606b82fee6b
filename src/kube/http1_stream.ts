/**
 * A streaming GET (a followed log, a watch) over a connection of its own, HTTP/1.1 read
 * straight from the socket. `fetch` hands on each HTTP chunk by itself, and the kubelet sends
 * a followed log a line to a chunk: 50,000 lines cost a hook 2.4 s of CPU and 125 MB through
 * `fetch`. Read here, one read brings whatever the socket holds, every chunk in it, into one
 * buffer that is reused.
 *
 * @module
 */
import { ByteBuffer } from "../byte_buffer.ts";
import type { Answer, ResponseBody } from "./client.ts";

/** How much one read of the socket brings at most. */
const READ_BYTES = 64 * 1024;

/** The longest response head (status line and headers) accepted. */
const HEAD_LIMIT = 64 * 1024;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** How to reach the server and prove who we are. */
export interface StreamTls {
  /** CA certificates (PEM) to trust beside the system's. */
  ca?: string;
  /** A client certificate (PEM) and its key. */
  cert?: string;
  key?: string;
}

/** Where `needle` starts in `bytes` from `from`, or -1. */
function indexOf(bytes: Uint8Array, needle: Uint8Array, from = 0): number {
  const last = bytes.length - needle.length;
  outer: for (let at = bytes.indexOf(needle[0], from); at !== -1 && at <= last;) {
    for (let index = 1; index < needle.length; index++) {
      if (bytes[at + index] !== needle[index]) {
        at = bytes.indexOf(needle[0], at + 1);
        continue outer;
      }
    }
    return at;
  }
  return -1;
}

function joined(first: Uint8Array, second: Uint8Array): Uint8Array {
  if (first.length === 0) return second;
  const whole = new Uint8Array(first.length + second.length);
  whole.set(first);
  whole.set(second, first.length);
  return whole;
}

/** The bytes of a response's body, as its framing gives them. */
interface Framing {
  /** Takes the next bytes read, and appends the body's bytes in them to `body`. */
  take(bytes: Uint8Array, body: ByteBuffer): void;
  /** Whether the body has ended (its last chunk, or its length, reached). */
  readonly ended: boolean;
}

const CR = 13;
const LF = 10;
const SEMICOLON = 59;
const SPACE = 32;
const TAB = 9;

/** The value of a hex digit, or -1. */
function hexDigit(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * Where `Chunked` is: in a chunk's `size` (hex digits), in an `extension` after them (left
 * out), at the `sizeEnd` (the LF of the size line), in its `data`, at the `dataEnd` (the CR,
 * then the LF, after the data).
 */
type ChunkedStage = "size" | "extension" | "sizeEnd" | "data" | "dataCr" | "dataLf";

/**
 * `Transfer-Encoding: chunked`: sizes in hex, each chunk followed by CRLF, a 0 last. Read a
 * byte at a time through the sizes and CRLFs, and a chunk's data copied whole: the kubelet
 * sends a followed log a line to a chunk, so a read holds many.
 */
class Chunked implements Framing {
  #stage: ChunkedStage = "size";
  /** The size read so far, or the bytes of the chunk's data still to come. */
  #size = 0;
  #digits = 0;
  ended = false;

  take(bytes: Uint8Array, body: ByteBuffer): void {
    let at = 0;
    while (at < bytes.length && !this.ended) {
      if (this.#stage === "data") {
        const end = Math.min(bytes.length, at + this.#size);
        body.append(bytes, at, end);
        this.#size -= end - at;
        at = end;
        if (this.#size === 0) this.#stage = "dataCr";
        continue;
      }
      this.#step(bytes[at++]);
    }
  }

  /** Reads one byte of a size line or of the CRLF after a chunk's data. */
  #step(byte: number): void {
    switch (this.#stage) {
      case "size": {
        const digit = hexDigit(byte);
        if (digit !== -1 && this.#digits < 12) {
          this.#size = this.#size * 16 + digit;
          this.#digits++;
        } else if (this.#digits > 0 && (byte === SEMICOLON || byte === SPACE || byte === TAB)) {
          this.#stage = "extension";
        } else if (this.#digits > 0 && byte === CR) {
          this.#stage = "sizeEnd";
        } else {
          throw new Error("a malformed chunked response");
        }
        return;
      }
      case "extension":
        if (byte === CR) this.#stage = "sizeEnd";
        return;
      case "sizeEnd":
        if (byte !== LF) throw new Error("a malformed chunked response");
        this.#digits = 0;
        if (this.#size === 0) this.ended = true;
        else this.#stage = "data";
        return;
      case "dataCr":
        if (byte !== CR) throw new Error("a malformed chunked response");
        this.#stage = "dataLf";
        return;
      case "dataLf":
        if (byte !== LF) throw new Error("a malformed chunked response");
        this.#stage = "size";
        return;
    }
  }
}

/** A body of a known `Content-Length`. */
class Sized implements Framing {
  #left: number;
  constructor(length: number) {
    this.#left = length;
  }
  get ended(): boolean {
    return this.#left === 0;
  }
  take(bytes: Uint8Array, body: ByteBuffer): void {
    const end = Math.min(bytes.length, this.#left);
    body.append(bytes, 0, end);
    this.#left -= end;
  }
}

/** A body that ends with the connection. */
class UntilClose implements Framing {
  readonly ended = false;
  take(bytes: Uint8Array, body: ByteBuffer): void {
    body.append(bytes);
  }
}

/** The status and headers of a response head. */
function parseHead(head: string): { status: number; headers: Map<string, string> } {
  const [statusLine, ...lines] = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return { status, headers };
}

function framingOf(headers: Map<string, string>): Framing {
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) return new Chunked();
  const length = headers.get("content-length");
  if (length !== undefined) return new Sized(Number(length));
  return new UntilClose();
}

/** A body read from `conn`, starting with `first` (what came after the head). */
function socketBody(conn: Deno.Conn, first: Uint8Array, framing: Framing, signal: AbortSignal) {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  signal.addEventListener("abort", close, { once: true });
  const body: ResponseBody = {
    async *[Symbol.asyncIterator]() {
      const buffer = new Uint8Array(READ_BYTES);
      const read = new ByteBuffer();
      try {
        let bytes: Uint8Array | null = first;
        while (!framing.ended) {
          if (bytes === null) {
            let count: number | null;
            try {
              count = await conn.read(buffer);
            } catch (error) {
              if (signal.aborted) throw signal.reason;
              if (closed) return;
              throw error;
            }
            if (signal.aborted) throw signal.reason;
            if (count === null) {
              if (framing instanceof UntilClose) return;
              throw new Error("the connection closed before the response ended");
            }
            bytes = buffer.subarray(0, count);
          }
          framing.take(bytes, read);
          bytes = null;
          // One copy for all the chunks of a read: what is handed on outlives the buffers.
          if (read.length > 0) yield read.copy();
          read.clear();
        }
      } finally {
        signal.removeEventListener("abort", close);
        close();
      }
    },
    destroy() {
      signal.removeEventListener("abort", close);
      close();
    },
  };
  return body;
}

/** Reads the response head from `conn`; returns it and the bytes read after it. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  const buffer = new Uint8Array(READ_BYTES);
  let received: Uint8Array = new Uint8Array(0);
  for (;;) {
    const count = await conn.read(buffer);
    if (count === null) throw new Error("the connection closed before an answer");
    received = joined(received, buffer.slice(0, count));
    const end = indexOf(received, new Uint8Array([13, 10, 13, 10]));
    if (end !== -1) {
      return { head: decoder.decode(received.subarray(0, end)), rest: received.slice(end + 4) };
    }
    if (received.length > HEAD_LIMIT) throw new Error("an answer whose head is too long");
  }
}

/**
 * A connection to `url`'s server, TLS for `https:`, its writes sent at once (`TCP_NODELAY`).
 * `Deno.connectTls` leaves Nagle's algorithm on: the client's answer to the API server's
 * HelloRetryRequest, written in two parts, then waits for the server's delayed ACK, and every
 * stream started 40 ms late (among them the last read of a step's log, after its container
 * ended). The handshake runs on a TCP connection set up first, unless the user has a client
 * certificate, which only `Deno.connectTls` presents.
 */
async function connect(url: URL, tls: StreamTls): Promise<Deno.Conn> {
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const caCerts = tls.ca ? [tls.ca] : undefined;
  if (url.protocol === "https:" && tls.cert && tls.key) {
    return await Deno.connectTls({ hostname, port, caCerts, cert: tls.cert, key: tls.key });
  }
  const tcp = await Deno.connect({ hostname, port });
  tcp.setNoDelay(true);
  if (url.protocol !== "https:") return tcp;
  try {
    return await Deno.startTls(tcp, { hostname, caCerts });
  } catch (error) {
    try {
      tcp.close();
    } catch {
      // Taken by the handshake, and closed with it.
    }
    throw error;
  }
}

/**
 * Sends a GET for `url` on a connection of its own and resolves once the answer's head has
 * come; `signal` ends the request and its body.
 */
export async function streamingGet(
  url: URL,
  headers: Record<string, string>,
  tls: StreamTls,
  signal: AbortSignal,
): Promise<Answer> {
  const conn = await connect(url, tls);
  const abort = () => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  signal.addEventListener("abort", abort, { once: true });
  try {
    if (signal.aborted) throw signal.reason;
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      "Connection: close",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    const request = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
    for (let written = 0; written < request.length;) {
      written += await conn.write(request.subarray(written));
    }
    const { head, rest } = await readHead(conn);
    const { status, headers: answered } = parseHead(head);
    return { status, body: socketBody(conn, rest, framingOf(answered), signal) };
  } catch (error) {
    abort();
    throw signal.aborted ? signal.reason : error;
  } finally {
    signal.removeEventListener("abort", abort);
  }
}
