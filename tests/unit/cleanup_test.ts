import assert from "node:assert/strict";
import type { V1Job } from "@kubernetes/client-node";
import { OLD_JOB_AGE_MS, oldJobs } from "../../src/cleanup.ts";

const now = Date.parse("2026-11-27T12:00:00Z");
const job = (
  name: string,
  ageMs: number,
  labels: Record<string, string> = { "buildkite/plugin": "kubernetes" },
): V1Job => ({
  metadata: { name, labels, creationTimestamp: new Date(now - ageMs) as unknown as Date },
});

Deno.test("jobs-cleanup-via-plugin deletes only this plugin's Jobs older than a day", () => {
  const jobs = [
    job("old", OLD_JOB_AGE_MS + 1000),
    job("young", OLD_JOB_AGE_MS - 1000),
    job("other-plugin", OLD_JOB_AGE_MS * 2, { "buildkite/plugin": "other" }),
    job("old-too", OLD_JOB_AGE_MS * 3),
  ];
  assert.deepEqual(oldJobs(jobs, now).map((j) => j.metadata!.name), ["old", "old-too"]);
});
