/**
 * Run by client_test.ts with `--v8-flags=--expose-gc`: opens a stream (or a watch) with a
 * signal, collects garbage, aborts, and prints how the stream ended within 2 s:
 * `ended: <how>` or `still running`. Arguments: `stream` or `watch`, then `fetch` or `node`;
 * or `timeout`: a stream with a time limit (`timeoutMs`) and no signal, which its time limit
 * alone ends, after the garbage collection.
 *
 * @module
 */
import { Api } from "../../../src/kube/client.ts";

const [mode, transport] = Deno.args;
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"type":"ADDED","object":{}}\n'));
        },
      }),
    ),
);
const api = new Api({
  source: "KUBECONFIG",
  server: `http://127.0.0.1:${server.addr.port}`,
  // An unverified certificate is what sends a request through node:https.
  verify: transport !== "node",
  credentials: () => Promise.resolve({ headers: {} }),
});
const cancel = new AbortController();
let ended: Promise<string>;
if (mode === "stream" || mode === "timeout") {
  const { body } = await api.stream(
    "/log",
    mode === "stream"
      ? { signal: cancel.signal, answerWhenever: true }
      : { timeoutMs: 400, answerWhenever: true },
  );
  ended = (async () => {
    try {
      for await (const _ of body) { /* the first line, then nothing */ }
      return "ended: done";
    } catch (error) {
      return `ended: ${(error as Error).name}`;
    }
  })();
} else {
  ended = (async () => {
    for await (const _ of api.watch("/w", {}, { idleMs: 60_000, signal: cancel.signal })) {
      // The first event, then nothing.
    }
    return "ended: done";
  })();
}
await new Promise((resolve) => setTimeout(resolve, 200));
const gc = (globalThis as { gc?: () => void }).gc!;
for (let round = 0; round < 5; round++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
cancel.abort();
const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 2000));
console.log(await Promise.race([ended, timeout]));
Deno.exit(0);
