/**
 * Creating a step's objects. With secret variables, the Job is created suspended, the
 * Secret is created owned by it (so garbage collection removes it with the Job), then the
 * Job is resumed: no pod starts before its Secret exists. Transient failures are retried
 * with backoff within a bounded time; a rejection is final and keeps the server's message.
 *
 * @module
 */
import type { V1Job, V1Secret } from "@kubernetes/client-node";
import { EXIT, UserError } from "../exit_status.ts";
import { sleep } from "../follow/informer.ts";
import { type Api, ApiError } from "./client.ts";

/** How long submission keeps retrying transient failures. */
export const SUBMIT_BUDGET_MS = 60_000;

import { paths } from "./paths.ts";

export { paths };

/** Options of {@link withRetries}. */
export interface RetryOptions {
  /** What is being done, for messages: "creating the Job". */
  what: string;
  /** Gives up retrying after this long. */
  budgetMs: number;
  /** Stops retrying; a request in flight is let finish, so that its outcome is known. */
  signal?: AbortSignal;
  /** Reports each retry. */
  onRetry?: (message: string) => void;
}

/**
 * Runs `attempt` until it succeeds, retrying transient API failures (no answer, 429, 5xx)
 * with exponential backoff within the budget. Other failures end it at once.
 */
export async function withRetries<T>(
  attempt: (first: boolean) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const started = Date.now();
  let delayMs = 250;
  for (let first = true;; first = false) {
    try {
      return await attempt(first);
    } catch (error) {
      const transient = error instanceof ApiError && error.transient;
      const remaining = options.budgetMs - (Date.now() - started);
      if (!transient || remaining <= delayMs || options.signal?.aborted) throw error;
      options.onRetry?.(
        `${options.what} failed (${(error as Error).message}); retrying in ${
          (delayMs / 1000).toFixed(1)
        }s`,
      );
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted) throw error;
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }
}

function rejected(what: string, error: unknown): never {
  if (error instanceof ApiError) {
    const status = error.status === 0
      ? "no answer"
      : `${error.status}${error.reason ? ` ${error.reason}` : ""}`;
    throw new UserError(`${what} failed (${status}): ${error.message}`, EXIT.submit.code);
  }
  throw error;
}

/**
 * Creates an object; an AlreadyExists answer to a retry means the first attempt got through
 * (its answer was lost), and `existing` gives the object then.
 */
async function create<T>(
  api: Api,
  path: string,
  body: T,
  options: RetryOptions & { existing: (name: string) => Promise<T> },
): Promise<T> {
  return await withRetries(async (first) => {
    try {
      return await api.request<T>("POST", path, { body, timeoutMs: 30_000 });
    } catch (error) {
      const name = (body as { metadata?: { name?: string } }).metadata?.name;
      if (!first && error instanceof ApiError && error.status === 409 && name) {
        return await options.existing(name);
      }
      throw error;
    }
  }, options).catch((error) => rejected(options.what, error));
}

/**
 * Submits a step's Job and (if any) its Secret; returns the Job as created. `signal` stops
 * the retries, never a request already sent: whether that one created the Job is known
 * from its answer.
 */
export async function submit(
  api: Api,
  namespace: string,
  objects: { job: V1Job; secret?: V1Secret },
  options: { signal?: AbortSignal; onRetry?: (message: string) => void; budgetMs?: number } = {},
): Promise<V1Job> {
  const retry = {
    budgetMs: options.budgetMs ?? SUBMIT_BUDGET_MS,
    signal: options.signal,
    onRetry: options.onRetry,
  };
  const { secret } = objects;
  const job: V1Job = secret
    ? { ...objects.job, spec: { ...objects.job.spec!, suspend: true } }
    : objects.job;
  const created = await create(api, paths.jobs(namespace), job, {
    ...retry,
    what: `creating Job ${job.metadata!.name}`,
    // The Secret's owner reference needs the Job's uid: read it (the Role grants `get`).
    existing: (name) =>
      api.request<V1Job>("GET", paths.job(namespace, name), { timeoutMs: 30_000 }),
  });
  if (!secret) return created;
  try {
    await create<V1Secret>(api, paths.secrets(namespace), {
      ...secret,
      metadata: {
        ...secret.metadata,
        ownerReferences: [{
          apiVersion: "batch/v1",
          kind: "Job",
          name: created.metadata!.name!,
          uid: created.metadata!.uid!,
        }],
      },
    }, {
      ...retry,
      what: `creating Secret ${secret.metadata!.name}`,
      // Nothing of the Secret is needed back, and the Role does not let the agent read Secrets.
      existing: () => Promise.resolve(secret),
    });
    return await withRetries(
      () =>
        api.request<V1Job>("PATCH", paths.job(namespace, created.metadata!.name!), {
          body: { spec: { suspend: false } },
          contentType: "application/merge-patch+json",
          timeoutMs: 30_000,
        }),
      { ...retry, what: `starting Job ${created.metadata!.name}` },
    ).catch((error) => rejected(`starting Job ${created.metadata!.name}`, error));
  } catch (error) {
    // A suspended Job whose Secret could not be made would wait forever: remove it.
    await api.request("DELETE", paths.job(namespace, created.metadata!.name!), {
      body: { propagationPolicy: "Background" },
      timeoutMs: 10_000,
    }).catch(() => undefined);
    throw error;
  }
}
