/**
 * client-go's informer pattern: list, then watch from the list's resourceVersion; on a
 * dropped watch, watch again from the last resourceVersion seen; on `410 Gone` list again
 * and report the difference. Callers see a stream of changes and a local store, never poll.
 *
 * @module
 */

import { type ApiClient, ApiError, isApiError } from "./api_client.ts";
import type { KubeList, KubeObject, Status, WatchEvent } from "./kube_types.ts";

/** What changed. `old` is the previous state for updates and deletions. */
export interface Change<T> {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: T;
  old?: T;
}

/** Options of an informer. */
export interface InformerOptions<T> {
  /** Collection path, e.g. `/api/v1/pods` or `/api/v1/namespaces/x/pods`. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Called for every change, in order. Errors thrown here are logged, not fatal. */
  onChange: (change: Change<T>) => void | Promise<void>;
  /** Called after every (re)list has been applied. */
  onSync?: () => void;
  /** Stops the informer. */
  signal: AbortSignal;
  /** Diagnostics (dropped watches, relists). */
  log?: (message: string) => void;
}

/** The key of an object in a store: `namespace/name` (or `name`). */
export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : `${name}`;
}

class Expired extends Error {}

/** A running informer. */
export class Informer<T extends KubeObject> {
  /** The current state of every object, by `objectKey`. */
  readonly store: Map<string, T> = new Map();
  /** Resolves after the first list has been applied. */
  readonly synced: Promise<void>;
  /** Resolves when the informer has stopped. */
  readonly done: Promise<void>;
  #client: ApiClient;
  #options: InformerOptions<T>;
  #markSynced!: () => void;

  /** Starts listing and watching at once. */
  constructor(client: ApiClient, options: InformerOptions<T>) {
    this.#client = client;
    this.#options = options;
    this.synced = new Promise((resolve) => this.#markSynced = resolve);
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    const { signal } = this.#options;
    let resourceVersion: string | undefined;
    let delayMs = 100;
    while (!signal.aborted) {
      try {
        resourceVersion ??= await this.#list();
        this.#markSynced();
        resourceVersion = await this.#watch(resourceVersion, () => delayMs = 100);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof Expired) {
          this.#options.log?.(`${this.#options.path}: watch expired, listing again`);
          resourceVersion = undefined;
          continue;
        }
        this.#options.log?.(`${this.#options.path}: ${(error as Error).message}; retrying`);
        await sleep(delayMs, signal);
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
  }

  async #list(): Promise<string> {
    const { path, fieldSelector, labelSelector, signal } = this.#options;
    const items: T[] = [];
    let resourceVersion = "";
    let next: string | undefined;
    do {
      const page = await this.#client.get<KubeList<T>>(path, {
        fieldSelector,
        labelSelector,
        limit: 500,
        continue: next,
      }, signal);
      items.push(...page.items);
      resourceVersion = page.metadata.resourceVersion ?? "";
      next = page.metadata.continue || undefined;
    } while (next);
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.store.get(key);
      if (old?.metadata.resourceVersion === item.metadata.resourceVersion) continue;
      this.store.set(key, item);
      await this.#emit({ type: old ? "MODIFIED" : "ADDED", object: item, old });
    }
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      await this.#emit({ type: "DELETED", object: old, old });
    }
    this.#options.onSync?.();
    return resourceVersion;
  }

  async #watch(resourceVersion: string, onProgress: () => void): Promise<string> {
    const { path, fieldSelector, labelSelector, signal } = this.#options;
    let events: AsyncGenerator<WatchEvent<T | Status>>;
    try {
      events = this.#client.watch<T | Status>(path, {
        fieldSelector,
        labelSelector,
        resourceVersion,
        allowWatchBookmarks: true,
        // The server ends a watch after this; the loop then watches again.
        timeoutSeconds: 240 + Math.floor(Math.random() * 60),
      }, signal);
      for await (const event of events) {
        onProgress();
        if (event.type === "ERROR") {
          const status = event.object as Status;
          if (status.code === 410) throw new Expired();
          throw new ApiError(status.code ?? 500, status, `watch ${path}`);
        }
        const object = event.object as T;
        resourceVersion = object.metadata.resourceVersion ?? resourceVersion;
        if (event.type === "BOOKMARK") continue;
        const key = objectKey(object);
        const old = this.store.get(key);
        if (event.type === "DELETED") {
          this.store.delete(key);
        } else {
          this.store.set(key, object);
        }
        const type = event.type === "DELETED" ? "DELETED" : old ? "MODIFIED" : "ADDED";
        await this.#emit({ type, object, old });
      }
    } catch (error) {
      if (isApiError(error, 410)) throw new Expired();
      throw error;
    }
    return resourceVersion;
  }

  async #emit(change: Change<T>): Promise<void> {
    try {
      await this.#options.onChange(change);
    } catch (error) {
      this.#options.log?.(`${this.#options.path}: handler failed: ${(error as Error).stack}`);
    }
  }
}

/** Resolves after `ms`, or early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Options of `waitFor`. */
export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Describes the expectation in the timeout error. */
  description?: string;
}

/**
 * Watches one object (by name) until `predicate` holds for its current state (undefined
 * while it does not exist) and returns that state. Throws on timeout with the last state.
 */
export async function waitFor<T extends KubeObject>(
  client: ApiClient,
  collectionPath: string,
  name: string,
  predicate: (object: T | undefined) => boolean,
  options: WaitOptions,
): Promise<T | undefined> {
  const stop = new AbortController();
  const signals = [stop.signal, AbortSignal.timeout(options.timeoutMs)];
  if (options.signal) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  let matched: { object: T | undefined } | undefined;
  let resolveMatch!: () => void;
  const found = new Promise<void>((resolve) => resolveMatch = resolve);
  const check = (object: T | undefined) => {
    if (!matched && predicate(object)) {
      matched = { object };
      resolveMatch();
    }
  };
  const informer: Informer<T> = new Informer<T>(client, {
    path: collectionPath,
    fieldSelector: `metadata.name=${name}`,
    signal,
    onChange: (change) => check(change.type === "DELETED" ? undefined : change.object),
    onSync: () => {
      if (informer.store.size === 0) check(undefined);
    },
  });
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
  await Promise.race([found, aborted]);
  stop.abort();
  await informer.done;
  if (matched) return matched.object;
  const last = [...informer.store.values()][0];
  throw new Error(
    `timed out after ${options.timeoutMs} ms waiting for ${collectionPath}/${name}` +
      `${options.description ? ` to ${options.description}` : ""}; last state: ` +
      JSON.stringify(last ?? null),
  );
}

/** Which objects of a collection `waitForMatch` watches. */
export interface Selector {
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Watches a collection (narrowed by `selector`) until some object satisfies `predicate`,
 * and returns it. Throws on timeout, listing what was seen.
 */
export async function waitForMatch<T extends KubeObject>(
  client: ApiClient,
  collectionPath: string,
  selector: Selector,
  predicate: (object: T) => boolean,
  options: WaitOptions,
): Promise<T> {
  const stop = new AbortController();
  const signals = [stop.signal, AbortSignal.timeout(options.timeoutMs)];
  if (options.signal) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  let matched: T | undefined;
  let resolveMatch!: () => void;
  const found = new Promise<void>((resolve) => resolveMatch = resolve);
  const informer = new Informer<T>(client, {
    path: collectionPath,
    ...selector,
    signal,
    onChange: (change) => {
      if (!matched && change.type !== "DELETED" && predicate(change.object)) {
        matched = change.object;
        resolveMatch();
      }
    },
  });
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
  await Promise.race([found, aborted]);
  stop.abort();
  await informer.done;
  if (matched) return matched;
  throw new Error(
    `timed out after ${options.timeoutMs} ms waiting for an object in ${collectionPath} ` +
      `(${JSON.stringify(selector)})${options.description ? ` to ${options.description}` : ""}; ` +
      `seen: ${JSON.stringify([...informer.store.values()])}`,
  );
}
