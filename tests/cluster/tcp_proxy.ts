/**
 * A loopback TCP proxy for tests that need the network to misbehave: clients connect to
 * the proxy, which connects to the target; `cutAll()` drops every open connection at once,
 * and `cutEveryMs` does so periodically; `block()` makes the target unreachable (open
 * connections dropped, new ones closed at once) until `unblock()`. TLS passes through
 * untouched.
 *
 * @module
 */

/** Options of `startTcpProxy`. */
export interface TcpProxyOptions {
  /** Drop all open connections every this many milliseconds. */
  cutEveryMs?: number;
}

/** A running proxy. */
export interface TcpProxy extends AsyncDisposable {
  /** The port the proxy listens on (127.0.0.1). */
  port: number;
  /** `host:port` of the target. */
  target: string;
  /** How many connections have been accepted so far. */
  readonly accepted: number;
  /** How many connections are open now. */
  readonly open: number;
  /** Drops every open connection (both sides). */
  cutAll(): void;
  /** Drops every open connection and closes new ones at once, until {@link unblock}. */
  block(): void;
  /** Forwards new connections again. */
  unblock(): void;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `target` (`host:port`). */
export function startTcpProxy(target: string, options: TcpProxyOptions = {}): TcpProxy {
  const at = target.lastIndexOf(":");
  const hostname = target.slice(0, at).replace(/^\[|\]$/g, "");
  const targetPort = Number(target.slice(at + 1));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections = new Set<Deno.Conn[]>();
  let accepted = 0;
  let blocked = false;
  const cutAll = () => {
    for (const pair of connections) for (const conn of pair) closeQuietly(conn);
    connections.clear();
  };
  const timer = options.cutEveryMs ? setInterval(cutAll, options.cutEveryMs) : undefined;
  const serving = (async () => {
    for await (const client of listener) {
      accepted++;
      void forward(client);
    }
  })().catch(() => {});

  async function forward(client: Deno.Conn): Promise<void> {
    if (blocked) {
      closeQuietly(client);
      return;
    }
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname, port: targetPort });
    } catch {
      closeQuietly(client);
      return;
    }
    const pair = [client, upstream];
    connections.add(pair);
    await Promise.allSettled([
      client.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(client.writable),
    ]);
    connections.delete(pair);
    for (const conn of pair) closeQuietly(conn);
  }

  const close = async () => {
    clearInterval(timer);
    listener.close();
    cutAll();
    await serving;
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    target,
    get accepted() {
      return accepted;
    },
    get open() {
      return connections.size;
    },
    cutAll,
    block() {
      blocked = true;
      cutAll();
    },
    unblock() {
      blocked = false;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
