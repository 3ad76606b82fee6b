/**
 * What the tests do to a step's Job and pods from outside, as Kueue or an operator would.
 *
 * @module
 */
import type { Job, Pod } from "../cluster/kube_types.ts";
import { testCluster, waitFor, waitForPod } from "../cluster/testing.ts";
import { stepJobName } from "./fixtures.ts";
import { newJobId, runStep, type StepResult } from "./step_runner.ts";

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

/** A step started by {@link runningStep}, its step container running. */
export interface RunningStep {
  /** The Job's name. */
  name: string;
  /** Selects the step's pods. */
  selector: string;
  /** The first pod, its step container running. */
  pod: Pod;
  /** The hook's result, when it ends. */
  result: Promise<StepResult>;
}

/**
 * Runs `command` in `alpine:3` without a checkout (pods stop within 2 s), with `plugin`'s
 * options too, and waits until its step container runs.
 */
export async function runningStep(
  namespace: string,
  plugin: Record<string, unknown>,
  command: string,
): Promise<RunningStep> {
  const jobId = newJobId();
  const selector = `buildkite/job-id=${jobId}`;
  const running = waitForPod(testCluster(), namespace, selector, stepRunning, {
    timeoutMs: 60_000,
    description: "run",
  });
  const result = runStep({
    jobId,
    namespace,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "pod-spec-patch": { terminationGracePeriodSeconds: 2 },
      ...plugin,
    },
    command,
  });
  return { name: stepJobName(jobId), selector, pod: await running, result };
}

/** The step's pod other than `first` once its step container runs; fails if the step ends first. */
export function replacementOf(step: RunningStep, namespace: string, what: string): Promise<Pod> {
  return Promise.race([
    waitForPod(
      testCluster(),
      namespace,
      step.selector,
      (pod) => pod.metadata.name !== step.pod.metadata.name && stepRunning(pod),
      { timeoutMs: 90_000, description: what },
    ),
    step.result.then((result) => {
      throw new Error(`the step ended before a new pod ran: ${result.stdout}`);
    }),
  ]);
}
