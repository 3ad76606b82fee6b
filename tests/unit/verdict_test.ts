/** What observed Job, pod and event states mean for the step, one scenario per row. */
import assert from "node:assert/strict";
import type {
  CoreV1Event,
  V1ContainerState,
  V1ContainerStatus,
  V1Job,
  V1Pod,
} from "@kubernetes/client-node";
import { EXIT } from "../../src/exit_status.ts";
import { judge, type Observation, type Verdict } from "../../src/verdict.ts";

const T0 = 1_000_000;
/**
 * When the Job was created by the API server's clock, which is decades from the follower's
 * (T0): times the server stamps count only by their distance from it.
 */
const SERVER_T0 = Date.parse("2030-01-01T00:00:00Z");
const limits = {
  pendingTimeoutMs: 60_000,
  imagePullGraceMs: 30_000,
  podCreationGraceMs: 45_000,
  stepContainer: "step",
};

/** A time stamped by the API server `ms` after the Job's creation. */
function serverTime(ms: number): Date {
  return new Date(SERVER_T0 + ms);
}

function job(
  conditions: {
    type: string;
    status?: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: Date;
  }[] = [],
  backoffLimit = 0,
  spec: Partial<V1Job["spec"]> = {},
): V1Job {
  return {
    metadata: { name: "j", uid: "job-uid", creationTimestamp: serverTime(0) },
    spec: { backoffLimit, activeDeadlineSeconds: 600, template: {}, ...spec },
    status: { conditions: conditions.map((c) => ({ status: "True", ...c })) },
  };
}

function pod(
  name: string,
  containers: { bootstrap?: V1ContainerState; step?: V1ContainerState },
  extra: {
    phase?: string;
    reason?: string;
    message?: string;
    deleting?: boolean;
    unschedulable?: string;
  } = {},
): V1Pod {
  return {
    metadata: {
      name,
      uid: `${name}-uid`,
      creationTimestamp: new Date(T0) as unknown as Date,
      ...(extra.deleting ? { deletionTimestamp: new Date(T0) as unknown as Date } : {}),
    },
    spec: {
      initContainers: [{ name: "bootstrap", image: "agent:1" }],
      containers: [{ name: "step", image: "alpine:3", resources: { limits: { memory: "1Gi" } } }],
    },
    status: {
      phase: extra.phase ?? "Pending",
      reason: extra.reason,
      message: extra.message,
      conditions: extra.unschedulable
        ? [{
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: extra.unschedulable,
        }]
        : [],
      initContainerStatuses: containers.bootstrap
        ? [{
          name: "bootstrap",
          image: "agent:1",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: containers.bootstrap,
        }]
        : [],
      containerStatuses: containers.step
        ? [{
          name: "step",
          image: "alpine:3",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: containers.step,
        }]
        : [],
    },
  };
}

const exited = (exitCode: number, more: Record<string, unknown> = {}): V1ContainerState => ({
  terminated: { exitCode, ...more },
});
const waiting = (reason: string, message = `${reason} message`): V1ContainerState => ({
  waiting: { reason, message },
});
const running: V1ContainerState = { running: { startedAt: new Date(T0) as unknown as Date } };

function withConditions(
  p: V1Pod,
  conditions: { type: string; reason: string; message: string; lastTransitionTime?: Date }[],
): V1Pod {
  return {
    ...p,
    status: { ...p.status, conditions: conditions.map((c) => ({ ...c, status: "True" })) },
  };
}

/** A `FailedCreate` Event of the Job, first and last seen `first` and `last` ms after it was created. */
function failedCreate(message: string, first: number, last = first): CoreV1Event {
  return {
    metadata: { uid: `failed-create-${first}` },
    involvedObject: { kind: "Job", name: "j", uid: "job-uid" },
    reason: "FailedCreate",
    message,
    firstTimestamp: serverTime(first),
    lastTimestamp: serverTime(last),
  };
}

const MISSING_ACCOUNT = 'Error creating: pods "j-" is forbidden: error looking up service ' +
  'account ns/x: serviceaccount "x" not found';

const DELETED_BY_SUSPENSION = pod("p", { bootstrap: exited(0), step: exited(143) }, {
  phase: "Failed",
  deleting: true,
});

function failedMount(podName: string): CoreV1Event {
  return {
    metadata: { uid: `${podName}-mount-event` },
    involvedObject: { kind: "Pod", name: podName, uid: `${podName}-uid` },
    reason: "FailedMount",
    message: 'MountVolume.SetUp failed for volume "s" : secret "absent" not found',
  };
}

function observe(partial: Partial<Observation>): Observation {
  return {
    job: job(),
    jobDeleted: false,
    pods: [],
    deletedPods: new Set(),
    jobEvents: [],
    podEvents: [],
    firstSeen: new Map(),
    now: T0,
    submittedAt: T0,
    stepMayHaveRun: false,
    ...partial,
  };
}

type Expect = { exitStatus: number; summary?: RegExp; stuck?: boolean } | {
  wait: true;
  recheckAt?: number;
};

const rows: [string, Observation, Expect][] = [
  ["nothing listed yet", observe({ job: undefined }), { wait: true }],
  [
    "a step that succeeded",
    observe({ pods: [pod("p", { bootstrap: exited(0), step: exited(0) })] }),
    { exitStatus: 0 },
  ],
  [
    "the command's exit status",
    observe({ pods: [pod("p", { bootstrap: exited(0), step: exited(3) })] }),
    { exitStatus: 3, summary: /exited with status 3/ },
  ],
  [
    "a failed checkout container: its status, named",
    observe({
      pods: [
        pod("p", { bootstrap: exited(128, { reason: "Error" }), step: waiting("PodInitializing") }),
      ],
    }),
    {
      exitStatus: 128,
      summary: /checkout container "bootstrap" failed with exit status 128.*did not run/,
    },
  ],
  [
    "OOMKilled shows the memory limit",
    observe({
      pods: [pod("p", { bootstrap: exited(0), step: exited(137, { reason: "OOMKilled" }) })],
    }),
    { exitStatus: 137, summary: /memory than its limit of 1Gi \(OOMKilled, exit status 137\)/ },
  ],
  [
    "killed by a signal: the kubelet reports 128 + the signal",
    observe({ pods: [pod("p", { bootstrap: exited(0), step: exited(137, { reason: "Error" }) })] }),
    { exitStatus: 137, summary: /killed by SIGKILL \(exit status 137\)/ },
  ],
  [
    "the Job's deadline",
    observe({
      job: job([{ type: "Failed", reason: "DeadlineExceeded" }]),
      pods: [pod("p", { step: running })],
    }),
    { exitStatus: 143, summary: /exceeded its timeout of 600s/ },
  ],
  [
    "the Job's deadline with the container's own status",
    observe({
      job: job([{ type: "FailureTarget", reason: "DeadlineExceeded" }]),
      pods: [pod("p", { bootstrap: exited(0), step: exited(143) })],
    }),
    { exitStatus: 143, summary: /exceeded its timeout.*ended with status 143/ },
  ],
  [
    "SuccessCriteriaMet counts as success",
    observe({
      job: job([{ type: "SuccessCriteriaMet" }]),
      firstSeen: new Map([["job:succeeded", T0 - 5000]]),
    }),
    { exitStatus: 0 },
  ],
  [
    "a Job seen complete before its pod's watch shows the step's end waits a moment for it",
    observe({
      job: job([{ type: "Complete" }]),
      firstSeen: new Map([["job:succeeded", T0 - 1000]]),
    }),
    { wait: true, recheckAt: T0 + 4000 },
  ],
  [
    "invalid image name fails at once",
    observe({ pods: [pod("p", { bootstrap: exited(0), step: waiting("InvalidImageName") })] }),
    { exitStatus: EXIT.invalidImage.code, summary: /InvalidImageName/, stuck: true },
  ],
  [
    "ErrImageNeverPull fails at once, also for the checkout container",
    observe({ pods: [pod("p", { bootstrap: waiting("ErrImageNeverPull") })] }),
    { exitStatus: EXIT.invalidImage.code, summary: /container "bootstrap"/, stuck: true },
  ],
  [
    "an image pull failure within the grace waits until it ends",
    observe({
      pods: [pod("p", { bootstrap: exited(0), step: waiting("ImagePullBackOff") })],
      firstSeen: new Map([["p/step/pull", T0]]),
      now: T0 + 10_000,
    }),
    { wait: true, recheckAt: T0 + 30_000 },
  ],
  [
    "an image pull failure beyond the grace",
    observe({
      pods: [pod("p", { bootstrap: exited(0), step: waiting("ErrImagePull") })],
      firstSeen: new Map([["p/step/pull", T0]]),
      now: T0 + 30_000,
    }),
    {
      exitStatus: EXIT.imagePull.code,
      summary: /could not be pulled for 30s \(ErrImagePull\)/,
      stuck: true,
    },
  ],
  [
    "a missing Secret key beyond the grace",
    observe({
      pods: [pod("p", { bootstrap: exited(0), step: waiting("CreateContainerConfigError") })],
      firstSeen: new Map([["p/step/create", T0 - 31_000]]),
    }),
    { exitStatus: EXIT.containerConfig.code, summary: /could not be created for 31s/, stuck: true },
  ],
  [
    "unschedulable beyond pending-timeout",
    observe({
      pods: [
        pod("p", {}, { unschedulable: "0/1 nodes are available: node(s) didn't match selector" }),
      ],
      now: T0 + 60_000,
    }),
    {
      exitStatus: EXIT.pending.code,
      summary: /could not be scheduled within pending-timeout \(60s\): 0\/1 nodes/,
      stuck: true,
    },
  ],
  [
    "unschedulable within pending-timeout waits until it ends",
    observe({
      pods: [pod("p", {}, { unschedulable: "no nodes" })],
      firstSeen: new Map([["pod:p", T0]]),
      now: T0 + 1000,
    }),
    { wait: true, recheckAt: T0 + 60_000 },
  ],
  [
    "a running checkout is not pending, however long it takes",
    observe({
      pods: [pod("p", { bootstrap: running, step: waiting("PodInitializing") })],
      now: T0 + 3_600_000,
    }),
    { wait: true },
  ],
  [
    "a missing ServiceAccount (FailedCreate) waits pod-creation-grace from the first Event",
    observe({ jobEvents: [failedCreate(MISSING_ACCOUNT, 2000, 10_000)], now: T0 + 20_000 }),
    { wait: true, recheckAt: T0 + 2000 + 45_000 },
  ],
  [
    "a FailedCreate past pod-creation-grace: 95 with the latest message",
    observe({
      jobEvents: [
        failedCreate(MISSING_ACCOUNT, 40_000),
        failedCreate('Error creating: pods "j-1" is forbidden: exceeded quota: q', 1000, 30_000),
      ],
      now: T0 + 46_000,
    }),
    {
      exitStatus: EXIT.noPod.code,
      summary: new RegExp(
        "^The Job could not create its pod for 45s \\(pod-creation-grace 45s\\): " +
          `${MISSING_ACCOUNT.replace(/[()]/g, "\\$&")}$`,
      ),
      stuck: true,
    },
  ],
  [
    "a PodSecurity violation (FailedCreate) fails at once: no retry heals it",
    observe({
      jobEvents: [
        failedCreate(
          'Error creating: pods "j-abc" is forbidden: violates PodSecurity "restricted:latest": ' +
            "allowPrivilegeEscalation != false",
          0,
        ),
      ],
    }),
    {
      exitStatus: EXIT.noPod.code,
      summary: /^The Job cannot create its pod, and retrying cannot help: .*violates PodSecurity/,
      stuck: true,
    },
  ],
  [
    "a pod the API server finds invalid (FailedCreate) fails at once",
    observe({
      jobEvents: [
        failedCreate(
          'Error creating: Pod "j-abc" is invalid: spec.containers[0].resources.requests: ' +
            'Invalid value: "2": must be less than or equal to cpu limit of 1',
          0,
        ),
      ],
    }),
    {
      exitStatus: EXIT.noPod.code,
      summary: /retrying cannot help: .* is invalid: .*cpu limit of 1$/,
      stuck: true,
    },
  ],
  [
    "a Job suspended from outside waits for its resumption, up to pending-timeout",
    observe({
      job: job(
        [{
          type: "Suspended",
          reason: "JobSuspended",
          message: "Job suspended",
          lastTransitionTime: serverTime(100_000),
        }],
        0,
        { suspend: true },
      ),
      pods: [DELETED_BY_SUSPENSION],
      deletedPods: new Set(["p"]),
      firstSeen: new Map([["deleted:p", T0 + 100_000]]),
      now: T0 + 120_000,
    }),
    { wait: true, recheckAt: T0 + 160_000 },
  ],
  [
    "a Job suspended and not resumed within pending-timeout: 94, said so",
    observe({
      job: job(
        [{
          type: "Suspended",
          reason: "JobSuspended",
          message: "Job suspended",
          lastTransitionTime: serverTime(100_000),
        }],
        0,
        { suspend: true },
      ),
      pods: [DELETED_BY_SUSPENSION],
      deletedPods: new Set(["p"]),
      firstSeen: new Map([["deleted:p", T0 + 100_000]]),
      now: T0 + 160_000,
    }),
    {
      exitStatus: EXIT.pending.code,
      summary: /^The Job was suspended .* not resumed within pending-timeout \(60s\)\.$/,
      stuck: true,
    },
  ],
  [
    "a Job just suspended, before the controller records it: waits",
    observe({
      job: job([], 0, { suspend: true }),
      pods: [DELETED_BY_SUSPENSION],
      deletedPods: new Set(["p"]),
      firstSeen: new Map([["deleted:p", T0 - 10_000]]),
    }),
    { wait: true },
  ],
  [
    "a Job resumed: the pod its suspension deleted waits for the new one",
    observe({
      job: job([{
        type: "Suspended",
        status: "False",
        reason: "JobResumed",
        lastTransitionTime: serverTime(110_000),
      }]),
      pods: [DELETED_BY_SUSPENSION],
      deletedPods: new Set(["p"]),
      firstSeen: new Map([["deleted:p", T0 + 100_000]]),
      now: T0 + 110_000,
    }),
    { wait: true, recheckAt: T0 + 160_000 },
  ],
  [
    "a pod deleted with retries left waits for its replacement",
    observe({
      job: job([], 1),
      pods: [pod("p", { bootstrap: exited(0), step: exited(143) }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0 - 5000]]),
    }),
    { wait: true, recheckAt: T0 + 55_000 },
  ],
  [
    "a pod deleted with retries left and not replaced within pending-timeout: 94, said so",
    observe({
      job: job([], 1),
      pods: [pod("p", { bootstrap: exited(0), step: exited(143) }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0 - 60_000]]),
    }),
    {
      exitStatus: EXIT.pending.code,
      summary:
        /^The pod p was deleted by someone else and the Job did not replace it within pending-timeout \(60s\)\.$/,
      stuck: true,
    },
  ],
  [
    "a pod deleted with retries left, then its replacement: the replacement decides",
    observe({
      job: job([], 1),
      pods: [
        pod("a", { bootstrap: exited(0), step: exited(143) }, { deleting: true }),
        pod("b", { bootstrap: exited(0), step: exited(0) }),
      ],
      deletedPods: new Set(["a"]),
      firstSeen: new Map([["deleted:a", T0 - 60_000]]),
    }),
    { exitStatus: 0 },
  ],
  [
    "a pod deleted with its last retry: the Job fails, 96",
    observe({
      job: job([{ type: "FailureTarget", reason: "BackoffLimitExceeded" }], 1),
      pods: [pod("p", { bootstrap: exited(0), step: exited(143) }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0 - 2000]]),
    }),
    { exitStatus: EXIT.lost.code, summary: /deleted by someone else/ },
  ],
  [
    "a drained pod whose podFailurePolicy ignores disruptions waits for its replacement",
    observe({
      job: job([], 0, {
        podFailurePolicy: {
          rules: [{
            action: "Ignore",
            onPodConditions: [{ type: "DisruptionTarget", status: "True" }],
          }],
        },
      }),
      pods: [
        withConditions(pod("p", { step: exited(143) }, { phase: "Failed" }), [{
          type: "DisruptionTarget",
          reason: "EvictionByEvictionAPI",
          message: "Eviction API: evicting",
          lastTransitionTime: serverTime(30_000),
        }]),
      ],
      now: T0 + 40_000,
    }),
    { wait: true, recheckAt: T0 + 90_000 },
  ],
  [
    "evicted by node pressure with retries left and not replaced: 94 with the eviction",
    observe({
      job: job([], 2),
      pods: [
        withConditions(
          pod("p", { step: exited(137) }, {
            phase: "Failed",
            reason: "Evicted",
            message: "low on memory",
          }),
          [{
            type: "DisruptionTarget",
            reason: "TerminationByKubelet",
            message: "low on memory",
            lastTransitionTime: serverTime(30_000),
          }],
        ),
      ],
      now: T0 + 90_000,
    }),
    {
      exitStatus: EXIT.pending.code,
      summary: /^The pod p was stopped by Kubernetes \(Evicted\) and the Job did not replace it/,
      stuck: true,
    },
  ],
  [
    "the Job deleted while retries were left: 96, no wait for a replacement",
    observe({
      job: job([], 1),
      jobDeleted: true,
      pods: [pod("p", { bootstrap: exited(0), step: exited(143) }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0 - 2000]]),
    }),
    { exitStatus: EXIT.lost.code },
  ],
  ["no pod beyond pending-timeout", observe({ now: T0 + 60_000 }), {
    exitStatus: EXIT.pending.code,
    summary: /No pod was created/,
  }],
  ["the Job deleted from outside", observe({ job: job(), jobDeleted: true }), {
    exitStatus: EXIT.lost.code,
    summary: /Job was deleted/,
  }],
  [
    "a pod being deleted from outside waits for the Job's account",
    observe({
      pods: [pod("p", { step: running }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0]]),
    }),
    { wait: true, recheckAt: T0 + 2000 },
  ],
  [
    "a pod deleted from outside: its stopped container says nothing about the command",
    observe({
      job: job([{ type: "Failed", reason: "BackoffLimitExceeded" }]),
      pods: [pod("p", { bootstrap: exited(0), step: exited(143) }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0 - 2000]]),
    }),
    { exitStatus: EXIT.lost.code, summary: /deleted by someone else.*stopped with status 143/ },
  ],
  [
    "the Job failed before the pod's watch reported the step's end: waits for it",
    observe({
      job: job([{ type: "Failed", reason: "BackoffLimitExceeded" }]),
      pods: [pod("p", { bootstrap: exited(0), step: running })],
      firstSeen: new Map([["job:failed", T0 - 1000]]),
    }),
    { wait: true, recheckAt: T0 + 4000 },
  ],
  [
    "the Job failed and the pod never reported the step's end",
    observe({
      job: job([{ type: "Failed", reason: "BackoffLimitExceeded" }]),
      pods: [pod("p", { bootstrap: exited(0), step: running })],
      firstSeen: new Map([["job:failed", T0 - 5000]]),
    }),
    {
      exitStatus: EXIT.lost.code,
      summary: /Job failed \(BackoffLimitExceeded\) without a result from the step container/,
    },
  ],
  [
    "the Job failed, then the pod reported: the command's status",
    observe({
      job: job([{ type: "Failed", reason: "BackoffLimitExceeded" }]),
      pods: [pod("p", { bootstrap: exited(0), step: exited(7) })],
      firstSeen: new Map([["job:failed", T0 - 1000]]),
    }),
    { exitStatus: 7 },
  ],
  [
    "a volume that cannot be mounted waits for the grace",
    observe({
      pods: [pod("p", { bootstrap: waiting("PodInitializing") })],
      podEvents: [failedMount("p")],
      firstSeen: new Map([["p/mount", T0 - 10_000]]),
    }),
    { wait: true, recheckAt: T0 + 20_000 },
  ],
  [
    "a volume that cannot be mounted past the grace: 93 with the kubelet's message",
    observe({
      pods: [pod("p", { bootstrap: waiting("PodInitializing") })],
      podEvents: [failedMount("p")],
      firstSeen: new Map([["p/mount", T0 - 30_000]]),
    }),
    {
      exitStatus: EXIT.containerConfig.code,
      summary: /^A volume of pod p could not be mounted for 30s \(FailedMount\)\.$/,
      stuck: true,
    },
  ],
  [
    "a FailedMount of another pod says nothing about this one",
    observe({
      pods: [pod("p", { bootstrap: waiting("PodInitializing") })],
      podEvents: [failedMount("other")],
      firstSeen: new Map([["p/mount", T0 - 30_000]]),
    }),
    { wait: true },
  ],
  [
    "evicted by node pressure: lost (96) with the eviction's message, not the command's 137",
    observe({
      pods: [
        pod("p", { step: exited(137) }, {
          phase: "Failed",
          reason: "Evicted",
          message: "low on memory",
        }),
      ],
    }),
    {
      exitStatus: EXIT.lost.code,
      summary: /stopped by Kubernetes before the step finished \(Evicted\): low on memory/,
      stuck: true,
    },
  ],
  [
    "evicted through the Eviction API: the DisruptionTarget condition, the container's SIGTERM",
    observe({
      pods: [{
        ...pod("p", { step: exited(143) }, { phase: "Failed" }),
        status: {
          ...pod("p", { step: exited(143) }, { phase: "Failed" }).status,
          conditions: [{
            type: "DisruptionTarget",
            status: "True",
            reason: "EvictionByEvictionAPI",
            message: "Eviction API: evicting",
          }],
        },
      }],
    }),
    {
      exitStatus: EXIT.lost.code,
      summary: /\(EvictionByEvictionAPI\): Eviction API: evicting/,
      stuck: true,
    },
  ],
  [
    "evicted before the step container reported",
    observe({
      pods: [
        pod("p", { bootstrap: exited(0), step: running }, {
          phase: "Failed",
          reason: "Evicted",
          message: "The node was low on resource: memory.",
        }),
      ],
    }),
    {
      exitStatus: EXIT.lost.code,
      summary: /\(Evicted\): The node was low on resource: memory/,
      stuck: true,
    },
  ],
  [
    "with retries left, a failed pod waits for the next",
    observe({ job: job([], 2), pods: [pod("p", { bootstrap: exited(0), step: exited(1) })] }),
    { wait: true },
  ],
  [
    "with retries, the last pod decides",
    observe({
      job: job([{ type: "Failed", reason: "BackoffLimitExceeded" }], 1),
      pods: [
        pod("a", { bootstrap: exited(0), step: exited(1) }),
        pod("b", { bootstrap: exited(0), step: exited(2) }),
      ],
    }),
    { exitStatus: 2 },
  ],
];

for (const [name, observation, expected] of rows) {
  Deno.test(`verdict: ${name}`, () => {
    const verdict: Verdict = judge(observation, limits);
    if ("wait" in expected) {
      assert.equal(verdict.done, false, JSON.stringify(verdict));
      if (expected.recheckAt !== undefined) {
        assert.equal(!verdict.done && verdict.recheckAt, expected.recheckAt);
      }
      return;
    }
    assert.ok(verdict.done, "a final verdict");
    assert.equal(verdict.exitStatus, expected.exitStatus, verdict.summary);
    if (expected.summary) assert.match(verdict.summary, expected.summary);
    if (expected.stuck !== undefined) assert.equal(verdict.stuck, expected.stuck);
  });
}

Deno.test("verdict: sidecars and extra init containers are read by name, not position", () => {
  const p = pod("p", {});
  p.status!.initContainerStatuses = [
    { name: "setup", image: "x", imageID: "", ready: false, restartCount: 0, state: exited(0) },
    {
      name: "bootstrap",
      image: "agent:1",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: exited(0),
    },
  ];
  p.status!.containerStatuses = [
    { name: "sidecar", image: "redis", imageID: "", ready: true, restartCount: 0, state: running },
    {
      name: "step",
      image: "alpine:3",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: exited(5),
    },
  ];
  const verdict = judge(observe({ pods: [p] }), limits);
  assert.ok(verdict.done && verdict.exitStatus === 5);
});

/** A pod with a native sidecar (an init container with `restartPolicy: Always`) in `state`. */
function podWithNativeSidecar(sidecar: V1ContainerState, step?: V1ContainerState): V1Pod {
  const p = pod("p", { bootstrap: exited(0), step });
  p.spec!.initContainers!.push({ name: "mesh", image: "envoy:1", restartPolicy: "Always" });
  p.status!.initContainerStatuses!.push({
    name: "mesh",
    image: "envoy:1",
    imageID: "",
    ready: false,
    restartCount: 1,
    state: sidecar,
  });
  return p;
}

Deno.test("a native sidecar that crashed and is restarted does not fail the running step", () => {
  const verdict = judge(observe({ pods: [podWithNativeSidecar(exited(1), running)] }), limits);
  assert.equal(verdict.done, false);
});

Deno.test("a native sidecar stopped with the pod (SIGTERM) does not take over the step's status", () => {
  const p = podWithNativeSidecar(exited(143), exited(0));
  const verdict = judge(observe({ pods: [p] }), limits);
  assert.ok(verdict.done);
  assert.equal(verdict.exitStatus, 0, verdict.summary);
});

/** A pod whose native sidecar `db` (with a startup probe) is in `sidecar`, the step in `step`. */
function podWithService(
  sidecar: Partial<V1ContainerStatus>,
  step: V1ContainerState = waiting("PodInitializing"),
): V1Pod {
  const p = pod("p", { bootstrap: exited(0), step });
  p.spec!.initContainers!.push({ name: "db", image: "postgres:16", restartPolicy: "Always" });
  p.status!.initContainerStatuses!.push({
    name: "db",
    image: "postgres:16",
    imageID: "",
    ready: false,
    restartCount: 0,
    ...sidecar,
  });
  return p;
}

/** The kubelet's Event of a failed startup probe of the sidecar `db` of pod `p`. */
const STARTUP_PROBE_FAILED: CoreV1Event = {
  metadata: { uid: "unhealthy" },
  involvedObject: { kind: "Pod", name: "p", uid: "p-uid", fieldPath: "spec.initContainers{db}" },
  reason: "Unhealthy",
  message: "Startup probe failed: dial tcp 10.0.0.5:5432: connect: connection refused",
};

const sidecarRows: [string, Observation, Expect][] = [
  [
    "a sidecar still starting (its probe not passed yet) waits",
    observe({ pods: [podWithService({ state: running, started: false })] }),
    { wait: true },
  ],
  [
    "a sidecar killed for failing its startup probe: 93, named, with the probe's message",
    observe({
      pods: [podWithService({
        state: running,
        restartCount: 1,
        lastState: exited(137, { reason: "Error" }),
      })],
      podEvents: [STARTUP_PROBE_FAILED],
    }),
    {
      exitStatus: EXIT.containerConfig.code,
      summary:
        /^The sidecar "db" failed its startup probe \(Startup probe failed: dial tcp 10\.0\.0\.5:5432: connect: connection refused\) before the step started; the step's command did not run\.$/,
      stuck: true,
    },
  ],
  [
    "a startup probe failing without a kill yet (below failureThreshold) waits",
    observe({
      pods: [podWithService({ state: running, started: false })],
      podEvents: [STARTUP_PROBE_FAILED],
    }),
    { wait: true },
  ],
  [
    "a sidecar that exited before the step started: 93, with its exit status",
    observe({ pods: [podWithService({ state: exited(3, { reason: "Error" }) })] }),
    {
      exitStatus: EXIT.containerConfig.code,
      summary: /^The sidecar "db" exited with status 3 \(Error\) before the step started/,
      stuck: true,
    },
  ],
  [
    "a sidecar in CrashLoopBackOff before the step started: 93, with its last exit",
    observe({
      pods: [podWithService({
        state: waiting("CrashLoopBackOff"),
        restartCount: 2,
        lastState: exited(1, { reason: "Error" }),
      })],
    }),
    {
      exitStatus: EXIT.containerConfig.code,
      summary: /^The sidecar "db" exited with status 1 \(Error\) before the step started/,
    },
  ],
  [
    "a sidecar that exited while the step ran: the command's status, the sidecar reported",
    observe({
      pods: [podWithService({
        state: running,
        restartCount: 2,
        lastState: exited(3, { reason: "Error" }),
      }, exited(0))],
    }),
    {
      exitStatus: 0,
      summary:
        /^The sidecar "db" exited with status 3 \(Error\) while the step ran, and was restarted 2 times\.$/,
    },
  ],
  [
    "a sidecar stopped with the pod after the step: not reported",
    observe({ pods: [podWithService({ state: exited(143) }, exited(4))] }),
    { exitStatus: 4, summary: /^The step's command exited with status 4\.$/ },
  ],
];

for (const [name, observation, expected] of sidecarRows) {
  Deno.test(`verdict: ${name}`, () => {
    const verdict = judge(observation, limits);
    if ("wait" in expected) {
      assert.equal(verdict.done, false, JSON.stringify(verdict));
      return;
    }
    assert.ok(verdict.done, "a final verdict");
    assert.equal(verdict.exitStatus, expected.exitStatus, verdict.summary);
    if (expected.summary) assert.match(verdict.summary, expected.summary);
    if (expected.stuck !== undefined) assert.equal(verdict.stuck, expected.stuck);
  });
}

const EVICTION = {
  type: "DisruptionTarget",
  reason: "EvictionByEvictionAPI",
  message: "Eviction API: evicting",
};

/** Whether the step may run again in a new Job (`lost-pod-retries`), one row per way to be lost. */
const lostRows: [string, Observation, boolean][] = [
  [
    "evicted while checking out",
    observe({
      pods: [withConditions(pod("p", { bootstrap: running, step: waiting("PodInitializing") }), [
        EVICTION,
      ])],
    }),
    true,
  ],
  [
    "evicted while pending, nothing started",
    observe({ pods: [withConditions(pod("p", {}, { phase: "Failed" }), [EVICTION])] }),
    true,
  ],
  [
    "deleted from outside while checking out",
    observe({
      pods: [pod("p", { bootstrap: running }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0 - 5000]]),
    }),
    true,
  ],
  [
    "evicted while the command ran",
    observe({
      pods: [withConditions(pod("p", { bootstrap: exited(0), step: exited(143) }), [EVICTION])],
    }),
    false,
  ],
  [
    "evicted once the step container was running",
    observe({
      pods: [withConditions(pod("p", { bootstrap: exited(0), step: running }), [EVICTION])],
    }),
    false,
  ],
  [
    "evicted while checking out, but the step printed in an earlier look (a missed state)",
    observe({
      pods: [withConditions(pod("p", { bootstrap: running }), [EVICTION])],
      stepMayHaveRun: true,
    }),
    false,
  ],
  [
    "job-backoff-limit spent, every pod lost while checking out",
    observe({
      job: job([{ type: "Failed", reason: "BackoffLimitExceeded" }], 1),
      pods: [
        withConditions(pod("a", { bootstrap: exited(137) }, { phase: "Failed" }), [EVICTION]),
        withConditions(pod("b", { bootstrap: running }), [EVICTION]),
      ],
    }),
    true,
  ],
  [
    "job-backoff-limit spent, the command ran in an earlier pod",
    observe({
      job: job([{ type: "Failed", reason: "BackoffLimitExceeded" }], 1),
      pods: [
        pod("a", { bootstrap: exited(0), step: exited(1) }, { phase: "Failed" }),
        withConditions(pod("b", { bootstrap: running }), [EVICTION]),
      ],
    }),
    false,
  ],
  [
    "deleted from outside after the command started",
    observe({
      pods: [pod("p", { bootstrap: exited(0), step: running }, { deleting: true })],
      firstSeen: new Map([["deleted:p", T0 - 5000]]),
    }),
    false,
  ],
];

for (const [name, observation, lostBeforeCommand] of lostRows) {
  Deno.test(`verdict: lost pod, ${name}: ${lostBeforeCommand ? "may" : "must not"} run again`, () => {
    const verdict = judge(observation, limits);
    assert.ok(verdict.done, JSON.stringify(verdict));
    assert.equal(verdict.exitStatus, EXIT.lost.code, verdict.summary);
    assert.equal(verdict.lostBeforeCommand, lostBeforeCommand, verdict.summary);
  });
}

Deno.test("verdict: a command that ended is never marked lost before it ran", () => {
  const verdict = judge(
    observe({ pods: [pod("p", { bootstrap: exited(0), step: exited(1) })] }),
    limits,
  );
  assert.ok(verdict.done && !verdict.lostBeforeCommand);
});
