import assert from "node:assert/strict";
import type { ContainerState, ContainerStatus, Pod, PodSpec } from "../kube_types.ts";
import { podConditions, podPhase } from "./pod_status.ts";

function status(name: string, state: ContainerState, extra: Partial<ContainerStatus> = {}) {
  return {
    name,
    state,
    lastState: {},
    ready: false,
    restartCount: 0,
    image: "alpine",
    imageID: "",
    ...extra,
  };
}

const waiting = (reason: string): ContainerState => ({ waiting: { reason } });
const running: ContainerState = { running: { startedAt: "2026-01-01T00:00:00Z" } };
const exited = (exitCode: number): ContainerState => ({ terminated: { exitCode } });

Deno.test("podPhase follows the kubelet for restartPolicy Never", () => {
  const spec: PodSpec = {
    restartPolicy: "Never",
    initContainers: [{ name: "init" }],
    containers: [{ name: "a" }, { name: "b" }],
  };
  const cases: [string, ContainerStatus[], ContainerStatus[], string][] = [
    ["init pending", [status("init", waiting("PodInitializing"))], [], "Pending"],
    ["init running", [status("init", running)], [
      status("a", waiting("PodInitializing")),
      status("b", waiting("PodInitializing")),
    ], "Pending"],
    ["init failed", [status("init", exited(1))], [
      status("a", waiting("PodInitializing")),
      status("b", waiting("PodInitializing")),
    ], "Failed"],
    ["one running", [status("init", exited(0))], [
      status("a", running),
      status("b", waiting("ContainerCreating")),
    ], "Pending"],
    [
      "both running",
      [status("init", exited(0))],
      [status("a", running), status("b", running)],
      "Running",
    ],
    [
      "one done",
      [status("init", exited(0))],
      [status("a", exited(0)), status("b", running)],
      "Running",
    ],
    [
      "all succeeded",
      [status("init", exited(0))],
      [status("a", exited(0)), status("b", exited(0))],
      "Succeeded",
    ],
    [
      "one failed",
      [status("init", exited(0))],
      [status("a", exited(0)), status("b", exited(3))],
      "Failed",
    ],
    ["image pull back-off", [status("init", exited(0))], [
      status("a", waiting("ImagePullBackOff")),
      status("b", running),
    ], "Pending"],
  ];
  for (const [name, init, containers, phase] of cases) {
    assert.equal(podPhase(spec, init, containers, false), phase, name);
  }
});

Deno.test("podPhase keeps restarting pods Running until they are terminal", () => {
  const onFailure: PodSpec = { restartPolicy: "OnFailure", containers: [{ name: "a" }] };
  const crashLooping = status("a", waiting("CrashLoopBackOff"), { lastState: exited(1) });
  assert.equal(podPhase(onFailure, [], [crashLooping], false), "Running");
  assert.equal(podPhase(onFailure, [], [status("a", exited(0))], false), "Succeeded");
  assert.equal(podPhase(onFailure, [], [status("a", exited(137))], true), "Failed");
  const always: PodSpec = { restartPolicy: "Always", containers: [{ name: "a" }] };
  assert.equal(podPhase(always, [], [status("a", exited(0))], false), "Running");
  assert.equal(podPhase(always, [], [status("a", exited(0))], true), "Succeeded");
});

Deno.test("podConditions reports initialization and readiness like the kubelet", () => {
  const pod: Pod = {
    metadata: { name: "p", generation: 1 },
    spec: { initContainers: [{ name: "init" }], containers: [{ name: "a" }] },
    status: {
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: "T0" },
        { type: "DisruptionTarget", status: "True", reason: "Custom" },
      ],
    },
  };
  const conditions = podConditions(pod, {
    phase: "Pending",
    initStatuses: [status("init", running)],
    statuses: [status("a", waiting("PodInitializing"))],
    sandboxReady: true,
    sandboxGone: false,
  }, "T1");
  assert.deepEqual(
    conditions.map(({ type, status, reason, message, lastTransitionTime }) => ({
      type,
      status,
      reason,
      message,
      lastTransitionTime,
    })),
    [
      {
        type: "DisruptionTarget",
        status: "True",
        reason: "Custom",
        message: undefined,
        lastTransitionTime: undefined,
      },
      {
        type: "PodReadyToStartContainers",
        status: "True",
        reason: undefined,
        message: undefined,
        lastTransitionTime: "T1",
      },
      {
        type: "Initialized",
        status: "False",
        reason: "ContainersNotInitialized",
        message: "containers with incomplete status: [init]",
        lastTransitionTime: "T1",
      },
      {
        type: "Ready",
        status: "False",
        reason: "ContainersNotReady",
        message: "containers with unready status: [a]",
        lastTransitionTime: "T1",
      },
      {
        type: "ContainersReady",
        status: "False",
        reason: "ContainersNotReady",
        message: "containers with unready status: [a]",
        lastTransitionTime: "T1",
      },
      {
        type: "PodScheduled",
        status: "True",
        reason: undefined,
        message: undefined,
        lastTransitionTime: "T0",
      },
    ],
  );
});

Deno.test("podConditions marks a finished pod PodCompleted or PodFailed", () => {
  const pod: Pod = { metadata: { name: "p" }, spec: { containers: [{ name: "a" }] } };
  const done = (phase: "Succeeded" | "Failed", code: number) =>
    podConditions(pod, {
      phase,
      initStatuses: [],
      statuses: [status("a", exited(code))],
      sandboxReady: false,
      sandboxGone: true,
    }, "T").map((condition) => [condition.type, condition.status, condition.reason ?? ""]);
  assert.deepEqual(done("Succeeded", 0), [
    ["PodReadyToStartContainers", "False", "PodSandboxNotReady"],
    ["Initialized", "True", "PodCompleted"],
    ["Ready", "False", "PodCompleted"],
    ["ContainersReady", "False", "PodCompleted"],
    ["PodScheduled", "True", ""],
  ]);
  assert.deepEqual(done("Failed", 1)[3], ["ContainersReady", "False", "PodFailed"]);
});
