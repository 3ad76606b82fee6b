import assert from "node:assert/strict";
import { ApiClient, ApiError, isApiError, lines } from "./api_client.ts";

Deno.test("lines splits a byte stream at newlines, wherever the chunks break", async () => {
  const encoder = new TextEncoder();
  const body = ReadableStream.from(
    ["a\nb", "c\n\nd", "é\ne"].map((chunk) => encoder.encode(chunk)),
  );
  const seen: string[] = [];
  for await (const line of lines(body)) seen.push(line);
  assert.deepEqual(seen, ["a", "bc", "", "dé", "e"]);
});

Deno.test("an error answer keeps the server's message and reason", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    assert.equal(request.headers.get("authorization"), "Bearer secret");
    return Response.json(
      {
        kind: "Status",
        status: "Failure",
        message: 'pods "x" not found',
        reason: "NotFound",
        code: 404,
      },
      { status: 404 },
    );
  });
  const client = new ApiClient({
    server: `http://127.0.0.1:${server.addr.port}`,
    token: "secret",
    caCert: "",
  });
  try {
    await assert.rejects(client.get("/api/v1/namespaces/ns/pods/x"), (error) => {
      assert.ok(error instanceof ApiError);
      assert.ok(isApiError(error, 404));
      assert.equal(error.reason, "NotFound");
      assert.equal(error.message, 'GET /api/v1/namespaces/ns/pods/x: pods "x" not found');
      return true;
    });
  } finally {
    client.close();
    await server.shutdown();
  }
});
