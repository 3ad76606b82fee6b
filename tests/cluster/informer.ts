/**
 * The product's informer (src/follow/informer.ts: list, then watch from the list's
 * resourceVersion, watch again after a drop, list again on `410 Gone`) for the harness's
 * REST client, and waits built on it: tests watch for the state they expect, never poll.
 *
 * @module
 */

import {
  type Change,
  Informer as ListWatchInformer,
  type InformerOptions,
  type ListWatchClient,
  objectKey,
  sleep,
} from "../../src/follow/informer.ts";
import { ApiError as ProductApiError, type RequestOptions } from "../../src/kube/client.ts";
import { type ApiClient, ApiError } from "./api_client.ts";
import type { KubeObject } from "./kube_types.ts";

export { type Change, type InformerOptions, objectKey, sleep };

/** The harness's client as the informer's: its errors as the product's, so 410 relists. */
export function listWatchClient(client: ApiClient): ListWatchClient {
  const translated = (error: unknown) =>
    error instanceof ApiError
      ? new ProductApiError(error.code, error.reason, error.message)
      : error;
  return {
    async request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
      try {
        return await client.request<T>(method, path, {
          query: options.query,
          signal: options.signal,
          timeoutMs: options.timeoutMs,
        });
      } catch (error) {
        throw translated(error);
      }
    },
    async *watch<T>(
      path: string,
      query: RequestOptions["query"],
      options: { signal?: AbortSignal },
    ) {
      try {
        yield* client.watch<T>(path, query ?? {}, options.signal);
      } catch (error) {
        throw translated(error);
      }
    },
  };
}

/** An informer on the harness's client. */
export class Informer<T extends KubeObject> extends ListWatchInformer<T> {
  /** Starts listing and watching at once. */
  constructor(client: ApiClient, options: InformerOptions<T>) {
    super(listWatchClient(client), options);
  }
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
