import assert from "node:assert/strict";
import { streamingGet } from "../../../src/kube/http1_stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A server that answers one request with `answer`, written in pieces of `pieces` bytes with a
 * pause after each (so that reads split it there), then closes the connection.
 */
async function answering(
  answer: string,
  pieces: number[],
  test: (url: URL, request: Promise<string>) => Promise<void>,
  { holdOpenMs = 0 } = {},
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const request = Promise.withResolvers<string>();
  const serving = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(4096);
    const count = await conn.read(buffer);
    request.resolve(decoder.decode(buffer.subarray(0, count ?? 0)));
    const bytes = encoder.encode(answer);
    let at = 0;
    for (let index = 0; at < bytes.length; index++) {
      const size = pieces[index % pieces.length];
      await conn.write(bytes.subarray(at, at + size));
      at += size;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // A server that keeps the connection open: only the body's own length can end it.
    await new Promise((resolve) => setTimeout(resolve, holdOpenMs));
    conn.close();
  })();
  try {
    const { port } = listener.addr as Deno.NetAddr;
    await test(new URL(`http://127.0.0.1:${port}/api/v1/pods?watch=true`), request.promise);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
}

async function bodyText(url: URL): Promise<{ status: number; text: string }> {
  const answer = await streamingGet(
    url,
    { Accept: "application/json" },
    {},
    new AbortController().signal,
  );
  let text = "";
  for await (const chunk of answer.body) text += decoder.decode(chunk, { stream: true });
  return { status: answer.status, text };
}

const CHUNKED =
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
  "6\r\nline 1\r\n1;ext=x\r\n\n\r\n14\r\n" + "x".repeat(20) + "\r\n0\r\nTrailer: y\r\n\r\n";

for (const pieces of [[1], [2, 3], [7], [5, 1, 13], [10_000]]) {
  Deno.test(`a chunked body reads whole, its sizes, data and CRLFs split every ${pieces.join(",")} bytes`, async () => {
    await answering(CHUNKED, pieces, async (url, request) => {
      const { status, text } = await bodyText(url);
      assert.equal(status, 200);
      assert.equal(text, "line 1\n" + "x".repeat(20));
      assert.match(
        await request,
        /^GET \/api\/v1\/pods\?watch=true HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/,
      );
    });
  });
}

Deno.test("the chunks of a body stay as they were after the reads that follow (a body read whole keeps them)", async () => {
  await answering(CHUNKED, [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9], async (url) => {
    const answer = await streamingGet(url, {}, {}, new AbortController().signal);
    const chunks: Uint8Array[] = [];
    for await (const chunk of answer.body) chunks.push(chunk);
    assert.ok(chunks.length > 1);
    assert.equal(
      chunks.map((chunk) => decoder.decode(chunk)).join(""),
      "line 1\n" + "x".repeat(20),
    );
  });
});

Deno.test("a body of a Content-Length ends at its length; one with neither, with the connection", async () => {
  await answering("HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!", [3], async (url) => {
    const started = Date.now();
    assert.deepEqual(await bodyText(url), { status: 404, text: "nope!" });
    assert.ok(Date.now() - started < 1500, "ended at its length, not with the connection");
  }, { holdOpenMs: 2000 });
  await answering("HTTP/1.1 200 OK\r\n\r\nuntil the end", [4], async (url) => {
    assert.deepEqual(await bodyText(url), { status: 200, text: "until the end" });
  });
});

Deno.test("a connection closed in the middle of a chunk is an error, not the body's end", async () => {
  const cut = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly half";
  await answering(cut, [100], async (url) => {
    await assert.rejects(bodyText(url), /closed before the response ended/);
  });
});

Deno.test("an answer that is not HTTP/1.1 is refused", async () => {
  await answering("SSH-2.0-OpenSSH\r\n\r\n", [100], async (url) => {
    await assert.rejects(bodyText(url), /not an HTTP\/1\.1 answer/);
  });
});

for (
  const [what, body] of [
    ["a size that is not hex", "zz\r\nline\r\n0\r\n\r\n"],
    ["no size", "\r\nline\r\n0\r\n\r\n"],
    ["data longer than its size", "2\r\nline\r\n0\r\n\r\n"],
  ]
) {
  Deno.test(`a chunked body with ${what} is an error`, async () => {
    const answer = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;
    await answering(answer, [100], async (url) => {
      await assert.rejects(bodyText(url), /a malformed chunked response/);
    });
  });
}
