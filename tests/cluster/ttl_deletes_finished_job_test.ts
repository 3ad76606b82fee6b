import assert from "node:assert/strict";
import type { Job } from "./kube_types.ts";
import { freshNamespace, testCluster, waitFor } from "./testing.ts";

Deno.test("a finished Job with ttlSecondsAfterFinished is deleted by the TTL controller", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const jobs = `/apis/batch/v1/namespaces/${namespace.name}/jobs`;
  await cluster.api.post(jobs, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "short-lived" },
    spec: {
      ttlSecondsAfterFinished: 1,
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "step", image: "alpine:3.20", command: ["true"] }],
        },
      },
    },
  });
  const complete = await waitFor<Job>(
    cluster.api,
    jobs,
    "short-lived",
    (job) =>
      job?.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") ?? false,
    { timeoutMs: 60_000, description: "complete" },
  );
  assert.ok(complete);
  const gone = await waitFor<Job>(cluster.api, jobs, "short-lived", (job) => job === undefined, {
    timeoutMs: 60_000,
    description: "be deleted by the TTL controller",
  });
  assert.equal(gone, undefined);
});
