/**
 * The image-pull grace follows the pull as it is now: the follower's clocks (fed the pod's
 * states and Events as its watches bring them) and the verdict on them.
 */
import assert from "node:assert/strict";
import type { CoreV1Event, V1ContainerStatus, V1Job, V1Pod } from "@kubernetes/client-node";
import { EXIT } from "../../../src/exit_status.ts";
import { GraceClocks } from "../../../src/follow/clocks.ts";
import { judge, type Verdict } from "../../../src/verdict.ts";

const GRACE = 30_000;
const limits = {
  pendingTimeoutMs: 0,
  imagePullGraceMs: GRACE,
  podCreationGraceMs: GRACE,
  stepContainer: "step",
};
const job: V1Job = { metadata: { name: "j", uid: "j" }, spec: { template: {} }, status: {} };

function stepStatus(waiting?: string): V1ContainerStatus {
  return {
    name: "step",
    image: "app:1",
    imageID: "",
    ready: false,
    restartCount: 0,
    state: waiting
      ? { waiting: { reason: waiting, message: `${waiting} app:1` } }
      : { running: {} },
  };
}

function podWith(status: V1ContainerStatus): V1Pod {
  return {
    metadata: { name: "p", uid: "p" },
    spec: { containers: [{ name: "step", image: "app:1" }] },
    status: { phase: "Pending", containerStatuses: [status] },
  };
}

function event(reason: string): CoreV1Event {
  return {
    metadata: {},
    involvedObject: { kind: "Pod", name: "p", fieldPath: "spec.containers{step}" },
    reason,
  };
}

/** A follow in miniature: what the watches bring, at which time, and the verdict at any time. */
function follow() {
  const firstSeen = new Map<string, number>();
  const clocks = new GraceClocks(firstSeen);
  let pod = podWith(stepStatus("ContainerCreating"));
  return {
    status(at: number, waiting?: string) {
      pod = podWith(stepStatus(waiting));
      clocks.observeStatus("p", pod.status!.containerStatuses![0], at);
    },
    event(at: number, reason: string) {
      clocks.observeEvent("p", event(reason), at);
    },
    verdictAt(now: number): Verdict {
      return judge({
        job,
        jobDeleted: false,
        pods: [pod],
        deletedPods: new Set(),
        jobEvents: [],
        podEvents: [],
        firstSeen,
        now,
        submittedAt: 0,
        stepMayHaveRun: false,
      }, limits);
    },
  };
}

Deno.test("a brief ErrImagePull, then a slow healthy pull: the step is not failed at the first error's grace", () => {
  const step = follow();
  step.event(0, "Pulling");
  step.status(1_000, "ErrImagePull");
  step.event(1_000, "Failed");
  step.event(1_000, "BackOff");
  step.status(2_000, "ImagePullBackOff");
  // The kubelet pulls again after its back-off; the pod's status keeps the old reason meanwhile.
  step.event(12_000, "Pulling");
  assert.equal(step.verdictAt(GRACE + 5_000).done, false);
  assert.equal(step.verdictAt(10 * GRACE).done, false);
  step.status(10 * GRACE);
  assert.equal(step.verdictAt(10 * GRACE + 1).done, false);
});

Deno.test("a pull that keeps failing between the kubelet's attempts fails after image-pull-grace", () => {
  const step = follow();
  step.status(1_000, "ErrImagePull");
  step.status(2_000, "ImagePullBackOff");
  step.event(12_000, "Pulling");
  step.event(12_100, "Failed");
  step.status(12_100, "ErrImagePull");
  step.status(13_000, "ImagePullBackOff");
  const waiting = step.verdictAt(20_000);
  assert.deepEqual(waiting, { done: false, recheckAt: 1_000 + GRACE });
  const verdict = step.verdictAt(1_000 + GRACE);
  assert.equal(verdict.done && verdict.exitStatus, EXIT.imagePull.code);
});

Deno.test("an attempt whose failure arrives only as the pod's status still ends the hold", () => {
  const step = follow();
  step.status(1_000, "ErrImagePull");
  step.status(2_000, "ImagePullBackOff");
  step.event(12_000, "Pulling");
  step.status(12_500, "ErrImagePull");
  const verdict = step.verdictAt(1_000 + GRACE);
  assert.equal(verdict.done && verdict.exitStatus, EXIT.imagePull.code);
});

Deno.test("a pull error that cleared and came back is timed from its return, not its first time", () => {
  const step = follow();
  step.status(1_000, "ErrImagePull");
  step.status(5_000, "ContainerCreating");
  step.status(50_000, "ErrImagePull");
  assert.deepEqual(step.verdictAt(50_000 + GRACE - 1), {
    done: false,
    recheckAt: 50_000 + GRACE,
  });
  const verdict = step.verdictAt(50_000 + GRACE);
  assert.equal(verdict.done && verdict.exitStatus, EXIT.imagePull.code);
});

Deno.test("a pull error that became a create error starts the create error's own grace", () => {
  const step = follow();
  step.status(1_000, "ErrImagePull");
  step.status(40_000, "CreateContainerConfigError");
  assert.equal(step.verdictAt(41_000).done, false);
  const verdict = step.verdictAt(40_000 + GRACE);
  assert.equal(verdict.done && verdict.exitStatus, EXIT.containerConfig.code);
});
