/** Which containers' logs are shown how, and what a pod's state means for a log follower. */
import assert from "node:assert/strict";
import type { V1ContainerState, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import {
  type ContainerStage,
  containerStage,
  HeldLog,
  podLogPlan,
  SIDECAR_LOG_BYTES,
} from "../../../src/follow/pod_logs.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function spec(init: { name: string; sidecar?: boolean }[]): V1PodSpec {
  return {
    initContainers: init.map(({ name, sidecar }) => ({
      name,
      image: "alpine:3",
      ...(sidecar ? { restartPolicy: "Always" } : {}),
    })),
    containers: [{ name: "step", image: "node:22" }, { name: "old-style-sidecar" }],
  };
}

Deno.test("a sidecar's log goes collapsed after the step's; checkout and init containers in turn", () => {
  const rows: {
    init: { name: string; sidecar?: boolean }[];
    inTurn: string[];
    sidecars: string[];
  }[] = [
    { init: [{ name: "bootstrap" }], inTurn: ["--- checkout", "+++ node:22"], sidecars: [] },
    {
      // pod-spec-patch appends a sidecar after the checkout; a mesh's webhook puts it first.
      init: [{ name: "bootstrap" }, { name: "mesh", sidecar: true }],
      inTurn: ["--- checkout", "+++ node:22"],
      sidecars: ["--- sidecar mesh"],
    },
    {
      init: [{ name: "vault", sidecar: true }, { name: "bootstrap" }, { name: "setup" }],
      inTurn: ["--- checkout", "--- init container setup", "+++ node:22"],
      sidecars: ["--- sidecar vault"],
    },
    { init: [], inTurn: ["+++ node:22"], sidecars: [] },
  ];
  for (const row of rows) {
    const plan = podLogPlan(spec(row.init), "step");
    const shown = (logs: { group: string; title: string }[]) =>
      logs.map(({ group, title }) => `${group} ${title}`);
    assert.deepEqual(shown(plan.inTurn), row.inTurn, JSON.stringify(row.init));
    assert.deepEqual(shown(plan.sidecars), row.sidecars, JSON.stringify(row.init));
  }
});

function pod(
  state: V1ContainerState | undefined,
  extra: { phase?: string; deleting?: boolean } = {},
): V1Pod {
  return {
    metadata: {
      name: "p",
      ...(extra.deleting ? { deletionTimestamp: new Date(0) } : {}),
    },
    status: {
      phase: extra.phase ?? "Pending",
      containerStatuses: state ? [{ name: "step", state } as never] : [],
    },
  };
}

Deno.test("a container that has not started in a pod that ended or went is never waited for", () => {
  const rows: [string, V1Pod, boolean, ContainerStage][] = [
    ["no status yet", pod(undefined), false, "waiting"],
    ["creating", pod({ waiting: { reason: "ContainerCreating" } }), false, "waiting"],
    ["running", pod({ running: {} }, { phase: "Running" }), false, "running"],
    ["ended", pod({ terminated: { exitCode: 1 } }, { phase: "Failed" }), false, "ended"],
    [
      "pod failed before it started (an init container failed)",
      pod(undefined, { phase: "Failed" }),
      false,
      "never",
    ],
    [
      "pod being deleted before it started",
      pod({ waiting: {} }, { deleting: true }),
      false,
      "never",
    ],
    ["pod gone before it started", pod(undefined), true, "never"],
    [
      "pod gone while it ran: its log is as complete as it will be",
      pod({ running: {} }),
      true,
      "ended",
    ],
    [
      "running while its pod is being deleted: it prints until stopped",
      pod({ running: {} }, { deleting: true }),
      false,
      "running",
    ],
  ];
  for (const [what, state, deleted, expected] of rows) {
    assert.equal(containerStage(state, "step", { deleted }), expected, what);
  }
});

Deno.test("a chatty sidecar's log keeps its last lines, whole, and says how much was left out", async () => {
  const held = new HeldLog();
  const line = (index: number) => `line ${String(index).padStart(6, "0")} ${"x".repeat(50)}\n`;
  const count = Math.ceil((3 * SIDECAR_LOG_BYTES) / line(0).length);
  for (let index = 0; index < count; index += 10) {
    let chunk = "";
    for (let at = index; at < Math.min(count, index + 10); at++) chunk += line(at);
    await held.write(encoder.encode(chunk));
  }
  const text = held.bytes().map((bytes) => decoder.decode(bytes)).join("");
  assert.ok(
    text.length <= SIDECAR_LOG_BYTES && text.length > SIDECAR_LOG_BYTES - 2 * line(0).length,
  );
  assert.match(text, /^line \d{6} x{50}\n/);
  assert.ok(text.endsWith(line(count - 1)));
  assert.equal(held.leftOut + text.length, count * line(0).length);
});

Deno.test("a sidecar's log stopped in the middle of a line ends with a newline", async () => {
  const held = new HeldLog();
  await held.write(encoder.encode("ready\nprogress 50%"));
  assert.equal(
    held.bytes().map((bytes) => decoder.decode(bytes)).join(""),
    "ready\nprogress 50%\n",
  );
  assert.equal(held.leftOut, 0);
  assert.deepEqual(new HeldLog().bytes(), []);
});
