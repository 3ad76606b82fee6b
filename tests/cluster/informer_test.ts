import assert from "node:assert/strict";
import { ApiClient } from "./api_client.ts";
import { type Change, Informer } from "./informer.ts";
import type { KubeObject } from "./kube_types.ts";

function object(name: string, resourceVersion: string): KubeObject {
  return { metadata: { name, namespace: "ns", resourceVersion } };
}

// A fake API: the first watch fails with 410 Expired, so the informer must list again; the
// second list has one object changed and one gone.
function fakeApi(): { url: string; requests: string[]; close: () => Promise<void> } {
  const requests: string[] = [];
  let lists = 0;
  let watches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    const watch = url.searchParams.get("watch") === "true";
    requests.push(
      `${watch ? "watch" : "list"} rv=${url.searchParams.get("resourceVersion") ?? ""}`,
    );
    if (!watch) {
      lists++;
      const items = lists === 1 ? [object("a", "1"), object("b", "2")] : [object("a", "5")];
      return Response.json({ metadata: { resourceVersion: lists === 1 ? "2" : "5" }, items });
    }
    watches++;
    const events = watches === 1
      ? [{
        type: "ERROR",
        object: { kind: "Status", code: 410, reason: "Expired", message: "too old" },
      }]
      : [{ type: "ADDED", object: object("c", "6") }, {
        type: "MODIFIED",
        object: object("c", "7"),
      }];
    const body = events.map((event) => `${JSON.stringify(event)}\n`).join("");
    if (watches > 2) return new Response(new ReadableStream({ start() {} }));
    return new Response(body);
  });
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
    requests,
    close: () => server.shutdown(),
  };
}

Deno.test("an informer lists again after 410 Gone and reports what changed meanwhile", async () => {
  const api = fakeApi();
  const client = new ApiClient({ server: api.url, token: "t", caCert: "" });
  const stop = new AbortController();
  const changes: string[] = [];
  let finished!: () => void;
  const enough = new Promise<void>((resolve) => finished = resolve);
  const informer = new Informer<KubeObject>(client, {
    path: "/api/v1/namespaces/ns/things",
    signal: stop.signal,
    onChange: (change: Change<KubeObject>) => {
      changes.push(
        `${change.type} ${change.object.metadata.name}@${change.object.metadata.resourceVersion}`,
      );
      if (changes.length === 6) finished();
    },
  });
  await enough;
  stop.abort();
  await informer.done;
  client.close();
  await api.close();
  assert.deepEqual(changes, [
    "ADDED a@1",
    "ADDED b@2",
    "MODIFIED a@5",
    "DELETED b@2",
    "ADDED c@6",
    "MODIFIED c@7",
  ]);
  assert.deepEqual(api.requests.slice(0, 4), ["list rv=", "watch rv=2", "list rv=", "watch rv=5"]);
  assert.deepEqual([...informer.store.keys()].sort(), ["ns/a", "ns/c"]);
});
