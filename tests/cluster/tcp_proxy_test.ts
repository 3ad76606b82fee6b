import assert from "node:assert/strict";
import { startTcpProxy } from "./tcp_proxy.ts";

function echoServer(): { port: number; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

async function roundTrip(conn: Deno.Conn, text: string): Promise<string> {
  await conn.write(new TextEncoder().encode(text));
  const buffer = new Uint8Array(64);
  const read = await conn.read(buffer);
  return read === null ? "" : new TextDecoder().decode(buffer.subarray(0, read));
}

Deno.test("the proxy forwards bytes and cutAll drops open connections", async () => {
  const echo = echoServer();
  await using proxy = startTcpProxy(`127.0.0.1:${echo.port}`);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  assert.equal(await roundTrip(conn, "ping"), "ping");
  assert.equal(proxy.open, 1);
  proxy.cutAll();
  assert.equal(await conn.read(new Uint8Array(8)), null);
  conn.close();
  const again = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  assert.equal(await roundTrip(again, "pong"), "pong");
  assert.equal(proxy.accepted, 2);
  again.close();
  echo.close();
});

Deno.test("the proxy can cut connections on a schedule", async () => {
  const echo = echoServer();
  await using proxy = startTcpProxy(`127.0.0.1:${echo.port}`, { cutEveryMs: 50 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  assert.equal(await roundTrip(conn, "x"), "x");
  // The read returns once the scheduled cut closes the connection.
  assert.equal(await conn.read(new Uint8Array(8)), null);
  conn.close();
  echo.close();
});

Deno.test("a blocked proxy drops open connections and closes new ones until unblocked", async () => {
  const echo = echoServer();
  await using proxy = startTcpProxy(`127.0.0.1:${echo.port}`);
  const open = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  assert.equal(await roundTrip(open, "a"), "a");
  proxy.block();
  assert.equal(await open.read(new Uint8Array(8)), null);
  open.close();
  const refused = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  assert.equal(await roundTrip(refused, "b").catch(() => ""), "");
  refused.close();
  proxy.unblock();
  const again = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  assert.equal(await roundTrip(again, "c"), "c");
  again.close();
  echo.close();
});
