/**
 * What the tests do to a step's Job and pods from outside, as Kueue or an operator would.
 *
 * @module
 */
import type { Job, Pod } from "../cluster/kube_types.ts";
import { testCluster, waitFor } from "../cluster/testing.ts";

/** Whether the step container of a pod is running. */
export function stepRunning(pod: Pod): boolean {
  return pod.status?.containerStatuses?.[0]?.state.running !== undefined;
}

/** Suspends or resumes a Job as Kueue does, by its `spec.suspend`. */
export async function setSuspended(namespace: string, job: string, suspend: boolean) {
  await testCluster().api.patch(`/apis/batch/v1/namespaces/${namespace}/jobs/${job}`, {
    spec: { suspend },
  });
}

/** Waits until the Job controller has recorded the suspension. */
export async function suspensionRecorded(namespace: string, job: string) {
  await waitFor<Job>(
    testCluster().api,
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
    job,
    (object) =>
      object?.status?.conditions?.some((c) => c.type === "Suspended" && c.status === "True") ??
        false,
    { timeoutMs: 30_000, description: "be recorded suspended by the Job controller" },
  );
}
