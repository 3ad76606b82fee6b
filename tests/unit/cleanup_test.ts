import assert from "node:assert/strict";
import type { V1Job } from "@kubernetes/client-node";
import {
  cleanUpStep,
  deleteOldJobs,
  deleteSelected,
  hasEnded,
  LIST_PAGE_SIZE,
  METADATA_LIST,
  OLD_JOB_AGE_MS,
  oldJobs,
} from "../../src/cleanup.ts";
import { type Api, ApiError, type RequestOptions } from "../../src/kube/client.ts";
import { Output } from "../../src/report.ts";

const now = Date.parse("2026-11-27T12:00:00Z");
const HOUR_MS = 60 * 60 * 1000;
const job = (
  name: string,
  ageMs: number,
  labels: Record<string, string> = { "buildkite/plugin": "kubernetes" },
): V1Job => ({
  metadata: { name, labels, creationTimestamp: new Date(now - ageMs) as unknown as Date },
});

Deno.test("jobs-cleanup-via-plugin considers only this plugin's Jobs older than a day", () => {
  const jobs = [
    job("old", OLD_JOB_AGE_MS + 1000),
    job("young", OLD_JOB_AGE_MS - 1000),
    job("other-plugin", OLD_JOB_AGE_MS * 2, { "buildkite/plugin": "other" }),
    job("old-too", OLD_JOB_AGE_MS * 3),
  ];
  assert.deepEqual(oldJobs(jobs, now).map((j) => j.metadata!.name), ["old", "old-too"]);
});

Deno.test("pre-exit finds old Jobs from their metadata alone, a page at a time, and deletes them all", async () => {
  const requests: { method: string; path: string; options: RequestOptions }[] = [];
  // Three pages: a namespace with more Jobs than one page holds.
  const pages = [
    { continue: "after-a", items: [job("a", OLD_JOB_AGE_MS * 2), job("b", 1000)] },
    { continue: "after-c", items: [job("c", OLD_JOB_AGE_MS * 3)] },
    { continue: "", items: [job("d", OLD_JOB_AGE_MS + 1000)] },
  ];
  const api = {
    request(method: string, path: string, options: RequestOptions) {
      requests.push({ method, path, options });
      if (method === "DELETE") return Promise.resolve({});
      const page = pages[requests.filter((request) => request.method === "GET").length - 1];
      return Promise.resolve({
        apiVersion: "meta.k8s.io/v1",
        kind: "PartialObjectMetadataList",
        metadata: { continue: page.continue },
        items: page.items.map(({ metadata }) => ({ metadata })),
      });
    },
  };
  const log: string[] = [];
  const output = new Output((bytes) => {
    log.push(new TextDecoder().decode(bytes));
    return Promise.resolve();
  });
  await deleteSelected(api as unknown as Api, output, {
    namespace: "ci",
    labelSelector: "buildkite/plugin=kubernetes",
    timeoutMs: 30_000,
    pick: (jobs) => oldJobs(jobs, now),
    naming: { kind: "old ", why: " (older than a day)" },
  });
  const lists = requests.filter((request) => request.method === "GET");
  assert.deepEqual(
    lists.map(({ path, options }) => [path, options.query, options.accept]),
    [undefined, "after-a", "after-c"].map((token) => [
      "/apis/batch/v1/namespaces/ci/jobs",
      { labelSelector: "buildkite/plugin=kubernetes", limit: LIST_PAGE_SIZE, continue: token },
      METADATA_LIST,
    ]),
  );
  assert.deepEqual(
    requests.filter((request) => request.method === "DELETE").map((request) => request.path),
    ["a", "c", "d"].map((name) => `/apis/batch/v1/namespaces/ci/jobs/${name}`),
  );
  assert.deepEqual(
    log,
    ["a", "c", "d"].map((name) => `kubernetes plugin: deleted Job ci/${name} (older than a day)\n`),
  );
});

Deno.test("the old Jobs' sweep says whether it ran to its end, a problem said, never thrown", async () => {
  const log: string[] = [];
  const output = new Output((bytes) => {
    log.push(new TextDecoder().decode(bytes));
    return Promise.resolve();
  });
  const answering = (list: () => Promise<unknown>) =>
    ({
      request: (method: string) => method === "GET" ? list() : Promise.resolve({}),
    }) as unknown as Api;
  assert.equal(
    await deleteOldJobs(answering(() => Promise.resolve({ items: null })), output, {
      namespace: "ci",
    }),
    true,
  );
  assert.deepEqual(log, []);
  assert.equal(
    await deleteOldJobs(
      answering(() => Promise.reject(new Error("no answer"))),
      output,
      { namespace: "ci" },
    ),
    false,
  );
  assert.deepEqual(log, ["kubernetes plugin: could not clean up old Jobs: no answer\n"]);
});

/** The step whose cleanup the tests below run, in namespace `ci`. */
const STEP_JOB_ID = "0190a1b2-0000-7000-8000-00000000000a";

/**
 * An API of one namespace holding `jobs` (each ended), answering a list as its label selector
 * says, after `listDelayMs` for the step's own list; records every request as `METHOD path`,
 * with `?labelSelector` for lists.
 */
function fakeCluster(jobs: V1Job[], options: { stepListDelayMs?: number } = {}) {
  const requests: string[] = [];
  const remaining = new Map(jobs.map((job) => [job.metadata!.name!, job]));
  const api = {
    async request(method: string, path: string, request: RequestOptions = {}) {
      const selector = request.query?.labelSelector as string | undefined;
      requests.push(selector ? `${method} ${path}?${selector}` : `${method} ${path}`);
      const name = path.split("/jobs/")[1];
      if (name === undefined) {
        if (selector?.startsWith("buildkite/job-id=")) {
          await new Promise((resolve) => setTimeout(resolve, options.stepListDelayMs ?? 0));
        }
        const [key, value] = selector!.split("=");
        const items = [...remaining.values()]
          .filter((job) => job.metadata?.labels?.[key] === value)
          .map(({ metadata }) => ({ metadata }));
        return { metadata: {}, items };
      }
      const job = remaining.get(name);
      if (!job) throw new ApiError(404, "NotFound", `jobs.batch "${name}" not found`);
      if (method === "DELETE") remaining.delete(name);
      return job;
    },
  };
  return { api: api as unknown as Api, requests };
}

function recordingOutput() {
  const log: string[] = [];
  const output = new Output((bytes) => {
    log.push(new TextDecoder().decode(bytes));
    return Promise.resolve();
  });
  return { output, log };
}

/** A Job of this plugin for the step `jobId`, created `ageMs` ago, finished. */
function finishedJob(name: string, jobId: string, ageMs: number): V1Job {
  return {
    metadata: {
      name,
      labels: { "buildkite/plugin": "kubernetes", "buildkite/job-id": jobId },
      creationTimestamp: new Date(Date.now() - ageMs) as unknown as Date,
    },
    status: { conditions: [condition("Complete")] },
  };
}

const cleanupOptions = (deletesStepJob: boolean, sweeps: boolean) => ({
  jobId: STEP_JOB_ID,
  "job-cleanup-after-finished-via-plugin": deletesStepJob,
  "jobs-cleanup-via-plugin": sweeps,
});

Deno.test("pre-exit lists old Jobs while the step's own list is unanswered, and says the step's Job first", async () => {
  const { api, requests } = fakeCluster([
    finishedJob("step", STEP_JOB_ID, HOUR_MS),
    finishedJob("old", "another-step", OLD_JOB_AGE_MS * 2),
  ], { stepListDelayMs: 100 });
  const { output, log } = recordingOutput();
  await cleanUpStep(api, output, { namespace: "ci", options: cleanupOptions(true, true) });
  const jobs = "/apis/batch/v1/namespaces/ci/jobs";
  // The step's list answers last: the sweep asked for its own list, and was done, before then.
  assert.deepEqual(requests, [
    `GET ${jobs}?buildkite/job-id=${STEP_JOB_ID}`,
    `GET ${jobs}?buildkite/plugin=kubernetes`,
    `GET ${jobs}/old`,
    `DELETE ${jobs}/old`,
    `DELETE ${jobs}/step`,
  ]);
  assert.deepEqual(log, [
    "kubernetes plugin: deleted Job ci/step\n",
    "kubernetes plugin: deleted Job ci/old (older than a day, and ended)\n",
  ]);
});

const ownJobCases: [string, boolean, string[]][] = [
  ["deleted by the step's cleanup alone", true, [
    "kubernetes plugin: deleted Job ci/step\n",
  ]],
  ["swept as any other when the step's cleanup is off", false, [
    "kubernetes plugin: deleted Job ci/step (older than a day, and ended)\n",
  ]],
];
for (const [name, deletesStepJob, expected] of ownJobCases) {
  Deno.test(`pre-exit: the step's own Job, a day old and ended, is ${name}`, async () => {
    const { api, requests } = fakeCluster([
      finishedJob("step", STEP_JOB_ID, OLD_JOB_AGE_MS * 2),
    ]);
    const { output, log } = recordingOutput();
    await cleanUpStep(api, output, {
      namespace: "ci",
      options: cleanupOptions(deletesStepJob, true),
    });
    assert.deepEqual(log, expected);
    assert.equal(requests.filter((request) => request.startsWith("DELETE")).length, 1);
  });
}

const ended: [string, V1Job, boolean][] = [
  ["finished (Complete)", { status: { conditions: [condition("Complete")] } }, true],
  ["failed (Failed)", { status: { conditions: [condition("Failed")] } }, true],
  [
    "about to fail, not failed yet (FailureTarget)",
    { status: { conditions: [condition("FailureTarget")], startTime: ago(HOUR_MS) } },
    false,
  ],
  ["a Complete condition that is False", {
    status: { conditions: [{ ...condition("Complete"), status: "False" }] },
  }, false],
  ["running, no deadline", { status: { startTime: ago(OLD_JOB_AGE_MS * 7) } }, false],
  ["running within its deadline", {
    spec: { activeDeadlineSeconds: 7200, template: {} },
    status: { startTime: ago(HOUR_MS) },
  }, false],
  ["running past its deadline", {
    spec: { activeDeadlineSeconds: 3600, template: {} },
    status: { startTime: ago(2 * HOUR_MS) },
  }, true],
  ["a deadline, never started (suspended)", {
    spec: { activeDeadlineSeconds: 3600, template: {} },
    status: {},
  }, false],
];
for (const [name, jobState, expected] of ended) {
  Deno.test(`jobs-cleanup-via-plugin: a day-old Job ${name} is ${expected ? "deleted" : "kept"}`, () => {
    assert.equal(hasEnded(jobState, now), expected);
  });
}

function condition(type: string) {
  return { type, status: "True" };
}

function ago(ms: number): Date {
  return new Date(now - ms);
}
