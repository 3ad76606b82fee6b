/**
 * client-go's informer: list, then watch from the list's resourceVersion; on a dropped or
 * failed watch, watch again from the last resourceVersion seen (bookmarks included), so the
 * server never replays states an object has left; on `410 Gone` list again and report the
 * difference. A state older than the one stored is never handed on. Callers see a stream of
 * changes, never a poll.
 *
 * @module
 */
import { ApiError, type RequestOptions, type WatchEvent } from "../kube/client.ts";

/** What an informer needs of an API client: JSON requests and watches (`Api` is one). */
export interface ListWatchClient {
  /** A JSON request. */
  request<T>(method: string, path: string, options: RequestOptions): Promise<T>;
  /** The events of a watch, until the server ends it. */
  watch<T>(
    path: string,
    query: RequestOptions["query"],
    options: { signal?: AbortSignal; idleMs: number },
  ): AsyncGenerator<WatchEvent<T>>;
}

/** What an informer needs of an object. */
export interface Watched {
  /** Its name, namespace and version. */
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** A change to one object. `old` is its previous state, for updates and deletions. */
export interface Change<T> {
  /** What happened. */
  type: "ADDED" | "MODIFIED" | "DELETED";
  /** The object's new state (its last state, for DELETED). */
  object: T;
  /** The previous state. */
  old?: T;
}

/** What to watch, and who hears about it. */
export interface InformerOptions<T> {
  /** The collection, e.g. `/api/v1/namespaces/ci/pods`. */
  path: string;
  /** A field selector. */
  fieldSelector?: string;
  /** A label selector. */
  labelSelector?: string;
  /** Called for every change, in order. */
  onChange: (change: Change<T>) => void;
  /** Called after each list has been applied. */
  onSync?: () => void;
  /** Stops the informer. */
  signal: AbortSignal;
  /** Reports dropped watches and relists. */
  log?: (message: string) => void;
  /**
   * Hears of a refusal retrying cannot change (401, 403, 404: missing permissions, a
   * missing namespace), after which the informer stops.
   */
  onRefused?: (error: ApiError) => void;
  /**
   * Hears of every list or watch that failed and will be retried, and of each success (a
   * list applied, a watch event), so that a caller can tell how long the API has been
   * unreachable.
   */
  onContact?: (contact: Contact) => void;
}

/** A list or watch that reached the API server, or one that failed and will be retried. */
export type Contact = { ok: true } | { ok: false; error: Error };

/**
 * Whether `candidate` is an older state of an object than `stored`. resourceVersions are
 * opaque, but an etcd-backed server gives each object increasing integers: only two such
 * integers are compared, and anything else counts as newer.
 */
export function olderThan(candidate: Watched, stored: Watched | undefined): boolean {
  const a = candidate.metadata?.resourceVersion;
  const b = stored?.metadata?.resourceVersion;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/** Whether an API error is a refusal retrying cannot change. */
export function refused(error: unknown): error is ApiError {
  return error instanceof ApiError && [401, 403, 404].includes(error.status);
}

/** The server ends each watch after this long; the informer then watches again. */
const WATCH_SECONDS = 300;
/** Bookmarks arrive about every minute; silence beyond this means the connection is lost. */
const IDLE_MS = (WATCH_SECONDS + 60) * 1000;

interface List<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

class Expired extends Error {}

/** Resolves after `ms`, or at once when the signal aborts. */
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

/** The key of an object in a store: `namespace/name`, or `name` for a cluster-wide one. */
export function objectKey(object: Watched): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

/** A running list-and-watch of one collection. */
export class Informer<T extends Watched> {
  /** The current state of every object, by {@link objectKey}. */
  readonly store: Map<string, T> = new Map();
  /** Resolves once the first list has been applied. */
  readonly synced: Promise<void>;
  /** Resolves when the informer stops. */
  readonly done: Promise<void>;
  readonly #api: ListWatchClient;
  readonly #options: InformerOptions<T>;
  #markSynced!: () => void;
  /**
   * The last resourceVersion seen, from a list, an event or a bookmark; kept across failed
   * watches (client-go's reflector does the same), forgotten only on `410 Gone`.
   */
  #resourceVersion: string | undefined;

  /** Starts listing and watching at once. */
  constructor(api: ListWatchClient, options: InformerOptions<T>) {
    this.#api = api;
    this.#options = options;
    this.synced = new Promise((resolve) => this.#markSynced = resolve);
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    const { signal, path, log, onContact } = this.#options;
    let delayMs = 100;
    while (!signal.aborted) {
      try {
        this.#resourceVersion ??= await this.#list();
        this.#markSynced();
        await this.#watch(() => delayMs = 100);
      } catch (error) {
        if (signal.aborted) break;
        if (refused(error)) {
          this.#options.onRefused?.(error);
          return;
        }
        if (error instanceof Expired) {
          log?.(`${path}: the watch expired (410); listing again`);
          this.#resourceVersion = undefined;
          continue;
        }
        onContact?.({ ok: false, error: error as Error });
        log?.(`${path}: ${(error as Error).message}; retrying in ${delayMs} ms`);
        await sleep(delayMs, signal);
        delayMs = Math.min(delayMs * 2, 5000);
      }
    }
  }

  async #list(): Promise<string> {
    const { path, fieldSelector, labelSelector, signal } = this.#options;
    const items: T[] = [];
    let resourceVersion = "";
    let next: string | undefined;
    do {
      const page = await this.#api.request<List<T>>("GET", path, {
        query: { fieldSelector, labelSelector, limit: 500, continue: next },
        signal,
        timeoutMs: 30_000,
      });
      items.push(...page.items);
      resourceVersion = page.metadata?.resourceVersion ?? "";
      next = page.metadata?.continue || undefined;
    } while (next);
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.store.get(key);
      if (
        old && (old.metadata?.resourceVersion === item.metadata?.resourceVersion ||
          olderThan(item, old))
      ) continue;
      this.store.set(key, item);
      this.#emit({ type: old ? "MODIFIED" : "ADDED", object: item, old });
    }
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.#emit({ type: "DELETED", object: old, old });
    }
    this.#options.onContact?.({ ok: true });
    this.#options.onSync?.();
    this.#options.log?.(`${path}: listed ${items.length} at resourceVersion ${resourceVersion}`);
    return resourceVersion;
  }

  /** Hands a change on; a handler's failure is reported and does not break the stream. */
  #emit(change: Change<T>): void {
    try {
      this.#options.onChange(change);
    } catch (error) {
      this.#options.log?.(
        `${this.#options.path}: a change handler failed: ${(error as Error).stack}`,
      );
    }
  }

  /** Watches from the last resourceVersion seen until the server ends the watch. */
  async #watch(onProgress: () => void): Promise<void> {
    const { path, fieldSelector, labelSelector, signal } = this.#options;
    const resourceVersion = this.#resourceVersion;
    try {
      const events = this.#api.watch<T | { code?: number; message?: string }>(path, {
        fieldSelector,
        labelSelector,
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: WATCH_SECONDS,
      }, { signal, idleMs: IDLE_MS });
      this.#options.log?.(`${path}: watching from resourceVersion ${resourceVersion}`);
      for await (const event of events) {
        onProgress();
        this.#options.onContact?.({ ok: true });
        this.#options.log?.(
          `${path}: ${event.type} ${(event.object as T).metadata?.name ?? ""} ${
            (event.object as T).metadata?.resourceVersion ?? ""
          }`,
        );
        if (event.type === "ERROR") {
          const status = event.object as { code?: number; message?: string };
          if (status.code === 410) throw new Expired();
          throw new ApiError(status.code ?? 500, "", `watch ${path}: ${status.message ?? "error"}`);
        }
        const object = event.object as T;
        this.#resourceVersion = object.metadata?.resourceVersion ?? this.#resourceVersion;
        if (event.type === "BOOKMARK") continue;
        const key = objectKey(object);
        const old = this.store.get(key);
        if (olderThan(object, old)) continue;
        if (event.type === "DELETED") this.store.delete(key);
        else this.store.set(key, object);
        const type = event.type === "DELETED" ? "DELETED" : old ? "MODIFIED" : "ADDED";
        this.#emit({ type, object, old });
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 410) throw new Expired();
      throw error;
    }
  }
}
