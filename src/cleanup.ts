/**
 * The `pre-exit` hook: deletes this step's Job, found by its `buildkite/job-id` label (no
 * state files), and this plugin's Jobs older than a day that have finished or outlived their
 * own deadline, listed by their metadata alone, a page at a time. Idempotent; a problem is
 * reported and never fails the build. After a step that ran to its verdict the command hook
 * has done both already (`run.ts`), and the pre-exit hook starts no program.
 *
 * @module
 */
import type { V1Job, V1ObjectMeta } from "@kubernetes/client-node";
import { type CleanupOptions, cleanupOptions } from "./config/cleanup_options.ts";
import { Api, ApiError } from "./kube/client.ts";
import { loadClusterAccess, resolveNamespace } from "./kube/kubeconfig.ts";
import { paths } from "./kube/paths.ts";
import { JOB_ID_LABEL, labelValue, PLUGIN_LABEL, PLUGIN_LABEL_VALUE } from "./render/names.ts";
import { Output } from "./report.ts";

type Env = Record<string, string | undefined>;

/** Jobs of this plugin older than this are deleted by `jobs-cleanup-via-plugin`. */
export const OLD_JOB_AGE_MS = 24 * 60 * 60 * 1000;

/** A Job as a metadata-only list gives it (`PartialObjectMetadata`). */
export interface JobMetadata {
  /** The Job's metadata. */
  metadata?: V1ObjectMeta;
}

/**
 * The Jobs `jobs-cleanup-via-plugin` considers: this plugin's, created more than a day ago.
 * Of these, it deletes those {@link hasEnded}.
 */
export function oldJobs(jobs: JobMetadata[], now: number): JobMetadata[] {
  return jobs.filter((job) => {
    const created = job.metadata?.creationTimestamp;
    return created !== undefined && now - new Date(created).getTime() > OLD_JOB_AGE_MS &&
      job.metadata?.labels?.[PLUGIN_LABEL] === PLUGIN_LABEL_VALUE;
  });
}

/**
 * Whether a Job is done with: finished (its `Complete` or `Failed` condition), or running
 * past its own `activeDeadlineSeconds`, which the Job controller should have ended it at.
 * A running Job of another step, however old, is not.
 */
export function hasEnded(job: V1Job, now: number): boolean {
  const finished = job.status?.conditions?.some((condition) =>
    (condition.type === "Complete" || condition.type === "Failed") && condition.status === "True"
  );
  if (finished) return true;
  const deadlineSeconds = job.spec?.activeDeadlineSeconds;
  const started = job.status?.startTime;
  return deadlineSeconds !== undefined && started !== undefined &&
    now - new Date(started).getTime() > deadlineSeconds * 1000;
}

/**
 * Of the old Jobs, those that have ended. A metadata list holds no status, so each is read
 * whole: one request per Job that is about to be deleted or is an old running one, which
 * with `job-ttl-seconds-after-finished` are few, rather than every Job of the namespace
 * whole, each carrying its step's environment.
 */
async function endedJobs(
  api: Api,
  output: Output,
  namespace: string,
  candidates: JobMetadata[],
): Promise<JobMetadata[]> {
  const ended: JobMetadata[] = [];
  for (const candidate of candidates) {
    const name = candidate.metadata!.name!;
    try {
      const job = await api.request<V1Job>("GET", paths.job(namespace, name), {
        timeoutMs: 10_000,
      });
      if (hasEnded(job, Date.now())) ended.push(candidate);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) continue;
      await output.note(`could not read old Job ${name}: ${(error as Error).message}`);
    }
  }
  return ended;
}

async function deleteJob(api: Api, namespace: string, name: string): Promise<string | undefined> {
  try {
    await api.request("DELETE", paths.job(namespace, name), {
      body: { propagationPolicy: "Background" },
      timeoutMs: 10_000,
    });
    return undefined;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    return (error as Error).message;
  }
}

/**
 * Runs one part of the cleanup; a problem is reported, and the other parts still run.
 * Returns whether the part ran to its end.
 */
async function part(output: Output, what: string, work: () => Promise<unknown>): Promise<boolean> {
  try {
    await work();
    return true;
  } catch (error) {
    await output.note(`could not clean up ${what}: ${(error as Error).message}`);
    return false;
  }
}

/** How many Jobs one page of a list brings at most. */
export const LIST_PAGE_SIZE = 500;

/** The `Accept` of a list of the objects' metadata alone. */
export const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/**
 * The metadata of the Jobs `labelSelector` selects in `namespace`, a page at a time. Metadata
 * alone, since a Job carries its step's whole environment, and in pages, since a namespace
 * may hold thousands of them.
 */
async function* listJobMetadata(
  api: Api,
  namespace: string,
  options: { labelSelector: string; timeoutMs: number },
): AsyncGenerator<JobMetadata[]> {
  let token: string | undefined;
  do {
    // The API server writes an empty metadata list's items as null.
    const page = await api.request<
      { metadata?: { continue?: string }; items: JobMetadata[] | null }
    >(
      "GET",
      paths.jobs(namespace),
      {
        query: { labelSelector: options.labelSelector, limit: LIST_PAGE_SIZE, continue: token },
        accept: METADATA_LIST,
        timeoutMs: options.timeoutMs,
      },
    );
    yield page.items ?? [];
    token = page.metadata?.continue || undefined;
  } while (token !== undefined);
}

/** What `deleteSelected` deletes, and how the log names it. */
export interface Selection {
  /** The Jobs' namespace. */
  namespace: string;
  /** Selects the Jobs to look at. */
  labelSelector: string;
  /** How long each page of the list may take. */
  timeoutMs: number;
  /** Which of the Jobs selected to delete (default: all). */
  pick?: (jobs: JobMetadata[]) => JobMetadata[] | Promise<JobMetadata[]>;
  /** How a deleted Job is named in the log: "" or "old ", and what follows its name. */
  naming: { kind: string; why: string };
}

/**
 * Lists the Jobs `labelSelector` selects and deletes those `pick` keeps, one by one; returns
 * the names of those deleted.
 */
export async function deleteSelected(
  api: Api,
  output: Output,
  options: Selection,
): Promise<string[]> {
  const { namespace, naming } = options;
  const deleted: string[] = [];
  for await (const page of listJobMetadata(api, namespace, options)) {
    for (const job of await (options.pick?.(page) ?? page)) {
      const name = job.metadata!.name!;
      const problem = await deleteJob(api, namespace, name);
      if (!problem) deleted.push(name);
      await output.note(
        problem
          ? `could not delete ${naming.kind}Job ${name}: ${problem}`
          : `deleted Job ${namespace}/${name}${naming.why}`,
      );
    }
  }
  return deleted;
}

/** Where `deleteOldJobs` looks, and what it leaves out. */
export interface Sweep {
  /** The namespace of the Jobs. */
  namespace: string;
  /**
   * The `buildkite/job-id` label value of a step whose own Job the sweep leaves out: the
   * caller deletes that one itself, at the same time.
   */
  except?: string;
}

/**
 * `jobs-cleanup-via-plugin`: deletes this plugin's Jobs older than a day that have ended,
 * each said in the log. A problem is reported, never thrown; returns whether the sweep ran to
 * its end (a Job it could not delete is said, and left to the next step's).
 */
export function deleteOldJobs(api: Api, output: Output, sweep: Sweep): Promise<boolean> {
  const { namespace, except } = sweep;
  const leftOut = (job: JobMetadata) =>
    except !== undefined && job.metadata?.labels?.[JOB_ID_LABEL] === except;
  return part(output, "old Jobs", () =>
    deleteSelected(api, output, {
      namespace,
      labelSelector: `${PLUGIN_LABEL}=${PLUGIN_LABEL_VALUE}`,
      timeoutMs: 30_000,
      pick: (jobs) =>
        endedJobs(api, output, namespace, oldJobs(jobs, Date.now()).filter((job) => !leftOut(job))),
      naming: { kind: "old ", why: " (older than a day, and ended)" },
    }));
}

/**
 * `jobs-cleanup-via-plugin`'s sweep of old Jobs, run alongside other work (the step itself, or
 * the deletion of its Job): its lines are held back, for the caller to write after that
 * work's. Resolves, never rejects, with whether it ran to its end.
 */
export async function sweepOldJobs(
  api: Api,
  sweep: Sweep,
): Promise<{ swept: boolean; lines: Uint8Array[] }> {
  const lines: Uint8Array[] = [];
  const held = new Output((bytes) => {
    lines.push(bytes);
    return Promise.resolve();
  });
  return { swept: await deleteOldJobs(api, held, sweep), lines };
}

/**
 * The cleanup after a step, as `options` say: its Job, and old Jobs. The sweep of old Jobs
 * runs alongside the deletion of the step's Job, since its list need not wait for theirs, and
 * leaves the step's own Job to it; its lines follow the step Job's in the log.
 */
export async function cleanUpStep(
  api: Api,
  output: Output,
  step: { namespace: string; options: CleanupOptions },
): Promise<void> {
  const { namespace, options } = step;
  const stepJob = labelValue(options.jobId);
  const deletesStepJob = options["job-cleanup-after-finished-via-plugin"];
  const stepJobDeleted = deletesStepJob
    ? part(output, "the step's Job", () =>
      deleteSelected(api, output, {
        namespace,
        labelSelector: `${JOB_ID_LABEL}=${stepJob}`,
        timeoutMs: 10_000,
        naming: { kind: "", why: "" },
      }))
    : undefined;
  const sweep = options["jobs-cleanup-via-plugin"]
    ? sweepOldJobs(api, { namespace, except: deletesStepJob ? stepJob : undefined })
    : undefined;
  await stepJobDeleted;
  for (const line of (await sweep)?.lines ?? []) await output.write(line);
}

/** Cleans up after a step; always returns 0. */
export async function cleanup(env: Env): Promise<number> {
  const output = new Output();
  let api: Api | undefined;
  try {
    const options = cleanupOptions(env);
    if (!options["job-cleanup-after-finished-via-plugin"] && !options["jobs-cleanup-via-plugin"]) {
      return 0;
    }
    const access = await loadClusterAccess(env);
    const namespace = resolveNamespace(options.namespace, access);
    api = new Api(access);
    await output.group("~~~", "Cleanup");
    await cleanUpStep(api, output, { namespace, options });
  } catch (error) {
    await output.note(`cleanup skipped: ${(error as Error).message}`);
  } finally {
    api?.close();
    // Its lines, still queued, are written before the hook exits; a cleanup never fails.
    await output.flushed().catch(() => {});
  }
  return 0;
}
