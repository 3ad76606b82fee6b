/**
 * The `pre-exit` hook: deletes this step's Job, found by its `buildkite/job-id` label (no
 * state files), and this plugin's Jobs older than a day. Idempotent; a problem is reported
 * and never fails the build.
 *
 * @module
 */
import type { V1Job } from "@kubernetes/client-node";
import { loadConfiguration } from "./config/mod.ts";
import { Api, ApiError } from "./kube/client.ts";
import { loadClusterAccess, resolveNamespace } from "./kube/kubeconfig.ts";
import { paths } from "./kube/submit.ts";
import { JOB_ID_LABEL, labelValue, PLUGIN_LABEL, PLUGIN_LABEL_VALUE } from "./render/names.ts";
import { Output } from "./report.ts";

type Env = Record<string, string | undefined>;

/** Jobs of this plugin older than this are deleted by `jobs-cleanup-via-plugin`. */
export const OLD_JOB_AGE_MS = 24 * 60 * 60 * 1000;

/** The Jobs `jobs-cleanup-via-plugin` deletes: this plugin's, created more than a day ago. */
export function oldJobs(jobs: V1Job[], now: number): V1Job[] {
  return jobs.filter((job) => {
    const created = job.metadata?.creationTimestamp;
    return created !== undefined && now - new Date(created).getTime() > OLD_JOB_AGE_MS &&
      job.metadata?.labels?.[PLUGIN_LABEL] === PLUGIN_LABEL_VALUE;
  });
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

/** Runs one part of the cleanup; a problem is reported, and the other parts still run. */
async function part(output: Output, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    await output.note(`could not clean up ${what}: ${(error as Error).message}`);
  }
}

/** Lists the Jobs `labelSelector` selects and deletes those `pick` keeps, one by one. */
async function deleteSelected(
  api: Api,
  output: Output,
  options: {
    namespace: string;
    labelSelector: string;
    timeoutMs: number;
    pick?: (jobs: V1Job[]) => V1Job[];
    /** How a deleted Job is named in the log: "" or "old ", and what follows its name. */
    naming: { kind: string; why: string };
  },
): Promise<void> {
  const { namespace, naming } = options;
  const list = await api.request<{ items: V1Job[] }>("GET", paths.jobs(namespace), {
    query: { labelSelector: options.labelSelector },
    timeoutMs: options.timeoutMs,
  });
  for (const job of options.pick?.(list.items) ?? list.items) {
    const name = job.metadata!.name!;
    const problem = await deleteJob(api, namespace, name);
    await output.note(
      problem
        ? `could not delete ${naming.kind}Job ${name}: ${problem}`
        : `deleted Job ${namespace}/${name}${naming.why}`,
    );
  }
}

/** Cleans up after a step; always returns 0. */
export async function cleanup(env: Env): Promise<number> {
  const output = new Output();
  let api: Api | undefined;
  try {
    const config = loadConfiguration(env);
    const { options, step } = config;
    if (!options["job-cleanup-after-finished-via-plugin"] && !options["jobs-cleanup-via-plugin"]) {
      return 0;
    }
    const access = loadClusterAccess(env);
    const namespace = resolveNamespace(options.namespace, access);
    const client = new Api(access);
    api = client;
    await output.group("~~~", "Cleanup");
    if (options["job-cleanup-after-finished-via-plugin"]) {
      await part(output, "the step's Job", () =>
        deleteSelected(client, output, {
          namespace,
          labelSelector: `${JOB_ID_LABEL}=${labelValue(step.jobId)}`,
          timeoutMs: 10_000,
          naming: { kind: "", why: "" },
        }));
    }
    if (options["jobs-cleanup-via-plugin"]) {
      await part(output, "old Jobs", () =>
        deleteSelected(client, output, {
          namespace,
          labelSelector: `${PLUGIN_LABEL}=${PLUGIN_LABEL_VALUE}`,
          timeoutMs: 30_000,
          pick: (jobs) => oldJobs(jobs, Date.now()),
          naming: { kind: "old ", why: " (older than a day)" },
        }));
    }
  } catch (error) {
    await output.note(`cleanup skipped: ${(error as Error).message}`);
  } finally {
    api?.close();
  }
  return 0;
}
