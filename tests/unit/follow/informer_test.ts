/** The informer against a scripted API: list, watch, re-watch, relist on 410, refusals. */
import assert from "node:assert/strict";
import type { KubernetesObject } from "@kubernetes/client-node";
import { type Change, Informer } from "../../../src/follow/informer.ts";
import { type Api, ApiError, type WatchEvent } from "../../../src/kube/client.ts";

type Obj = KubernetesObject;
const obj = (name: string, rv: string): Obj => ({
  metadata: { name, namespace: "ns", resourceVersion: rv },
});

/** Waits, as a real request does, until the caller gives up. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener("abort", () => reject(signal.reason), { once: true })
  );
}

/** A watch that delivers `events`, then fails with `error` (a connection cut mid-stream). */
interface CutWatch {
  events: WatchEvent<Obj>[];
  error: ApiError;
}

/** A fake API: each list answers the next of `lists`; each watch plays the next of `watches`. */
function scriptedApi(
  lists: (Obj[] | ApiError)[],
  watches: (WatchEvent<Obj>[] | ApiError | CutWatch)[],
  calls: string[],
): Api {
  return {
    request: (
      _method: string,
      _path: string,
      options: { query?: Record<string, unknown>; signal: AbortSignal },
    ) => {
      const next = lists.shift();
      calls.push(`list`);
      if (next === undefined) return aborted(options.signal);
      if (next instanceof ApiError) return Promise.reject(next);
      const rv = next.reduce((max, o) => Math.max(max, Number(o.metadata!.resourceVersion)), 0);
      return Promise.resolve({
        metadata: { resourceVersion: String(rv) },
        items: next,
        query: options.query,
      });
    },
    watch: async function* (
      _path: string,
      query: Record<string, unknown>,
      options: { signal: AbortSignal },
    ) {
      calls.push(`watch@${query.resourceVersion}`);
      const next = watches.shift();
      if (next === undefined) return await aborted(options.signal);
      if (next instanceof ApiError) throw next;
      if ("error" in next) {
        yield* next.events;
        throw next.error;
      }
      yield* next;
    },
  } as unknown as Api;
}

async function until(predicate: () => boolean) {
  for (let i = 0; i < 500 && !predicate(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.ok(predicate(), "condition reached");
}

Deno.test("the informer lists, watches from the list's version, and re-watches from the last version seen", async () => {
  const calls: string[] = [];
  const changes: string[] = [];
  const api = scriptedApi(
    [[obj("a", "5")]],
    [[{ type: "MODIFIED", object: obj("a", "6") }, { type: "BOOKMARK", object: obj("", "8") }], [{
      type: "ADDED",
      object: obj("b", "9"),
    }]],
    calls,
  );
  const stop = new AbortController();
  const informer = new Informer<Obj>(api, {
    path: "/x",
    signal: stop.signal,
    onChange: (change: Change<Obj>) =>
      changes.push(`${change.type} ${change.object.metadata!.name}`),
  });
  await until(() => changes.length === 3);
  assert.deepEqual(changes, ["ADDED a", "MODIFIED a", "ADDED b"]);
  assert.deepEqual(calls.slice(0, 3), ["list", "watch@5", "watch@8"]);
  stop.abort();
  await informer.done;
});

Deno.test("on 410 Gone the informer lists again and reports what changed meanwhile", async () => {
  const calls: string[] = [];
  const changes: string[] = [];
  const api = scriptedApi(
    [[obj("a", "5"), obj("b", "5")], [obj("a", "7"), obj("c", "7")]],
    [[{ type: "ERROR", object: { code: 410, message: "too old" } as unknown as Obj }]],
    calls,
  );
  const stop = new AbortController();
  const informer = new Informer<Obj>(api, {
    path: "/x",
    signal: stop.signal,
    onChange: (change) => changes.push(`${change.type} ${change.object.metadata!.name}`),
  });
  await until(() => changes.length === 5);
  assert.deepEqual(changes, ["ADDED a", "ADDED b", "MODIFIED a", "ADDED c", "DELETED b"]);
  assert.deepEqual(calls.slice(0, 3), ["list", "watch@5", "list"]);
  stop.abort();
  await informer.done;
});

Deno.test("a dropped or failing watch is retried; a refusal stops the informer and is reported", async () => {
  const calls: string[] = [];
  const refusals: string[] = [];
  const api = scriptedApi(
    [[], new ApiError(403, "Forbidden", "pods is forbidden")],
    [new ApiError(0, "", "connection reset"), [{
      type: "ERROR",
      object: { code: 410 } as unknown as Obj,
    }]],
    calls,
  );
  const stop = new AbortController();
  const informer = new Informer<Obj>(api, {
    path: "/x",
    signal: stop.signal,
    onChange: () => {},
    onRefused: (error) => refusals.push(error.message),
  });
  await informer.done;
  assert.deepEqual(calls, ["list", "watch@0", "watch@0", "list"]);
  assert.deepEqual(refusals, ["pods is forbidden"]);
});

Deno.test("a watch cut mid-stream resumes from the last version seen, so no old state is replayed", async () => {
  const calls: string[] = [];
  const changes: string[] = [];
  const api = scriptedApi(
    [[obj("pod", "5")]],
    [
      {
        events: [
          { type: "MODIFIED", object: obj("pod", "6") },
          { type: "BOOKMARK", object: obj("", "9") },
        ],
        error: new ApiError(0, "", "connection reset"),
      },
      [{ type: "MODIFIED", object: obj("pod", "10") }],
    ],
    calls,
  );
  const stop = new AbortController();
  const informer = new Informer<Obj>(api, {
    path: "/x",
    signal: stop.signal,
    onChange: (change) => changes.push(`${change.type} ${change.object.metadata!.resourceVersion}`),
  });
  await until(() => changes.length === 3);
  assert.deepEqual(calls.slice(0, 3), ["list", "watch@5", "watch@9"]);
  assert.deepEqual(changes, ["ADDED 5", "MODIFIED 6", "MODIFIED 10"]);
  stop.abort();
  await informer.done;
});

Deno.test("a replayed older state of an object is not handed on: only the newest state is judged", async () => {
  const changes: string[] = [];
  const api = scriptedApi(
    [[obj("pod", "5")]],
    [[
      { type: "MODIFIED", object: obj("pod", "8") },
      { type: "MODIFIED", object: obj("pod", "6") },
      { type: "MODIFIED", object: obj("pod", "12") },
    ]],
    [],
  );
  const stop = new AbortController();
  const informer = new Informer<Obj>(api, {
    path: "/x",
    signal: stop.signal,
    onChange: (change) => changes.push(change.object.metadata!.resourceVersion!),
  });
  await until(() => changes.length === 3);
  assert.deepEqual(changes, ["5", "8", "12"]);
  assert.equal(informer.store.get("ns/pod")?.metadata?.resourceVersion, "12");
  stop.abort();
  await informer.done;
});

Deno.test("the informer reports each failure it retries and each success, for the API-unreachable budget", async () => {
  const contacts: string[] = [];
  const api = scriptedApi(
    [[obj("a", "5")]],
    [new ApiError(0, "", "connection refused"), [{ type: "MODIFIED", object: obj("a", "6") }]],
    [],
  );
  const stop = new AbortController();
  const informer = new Informer<Obj>(api, {
    path: "/x",
    signal: stop.signal,
    onChange: () => {},
    onContact: (contact) => contacts.push(contact.ok ? "ok" : contact.error.message),
  });
  await until(() => contacts.length === 3);
  assert.deepEqual(contacts, ["ok", "connection refused", "ok"]);
  stop.abort();
  await informer.done;
});
