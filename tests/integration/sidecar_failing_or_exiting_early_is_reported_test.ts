/**
 * Sidecars that do not come up: one whose startup probe never passes (the kubelet kills and
 * restarts it), one that exits before its startup probe could pass. The step container would
 * wait for them for ever; instead the step fails with 93 naming the sidecar and why, the
 * sidecar's log is shown, the step's command never ran, and no Job is left. A sidecar without
 * a startup probe counts as started once it runs: if it exits while the step runs, the step
 * keeps the command's status and the log says the sidecar exited.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

/** How long the kubelet takes to give up on the probe, and the plugin to say so, at most (ms). */
const PROMPT_FAILURE_MS = 60_000;

/** A startup probe that fails, saying why, as a database's readiness check would. */
const NEVER_READY = {
  exec: { command: ["sh", "-c", "echo 'db is not accepting connections' >&2; exit 1"] },
  periodSeconds: 1,
  failureThreshold: 2,
};

async function stepWithSidecar(
  namespace: string,
  sidecar: Record<string, unknown>,
  command = "echo 'the step ran'",
) {
  return await runStep({
    namespace,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      sidecars: [{ name: "db", image: "busybox:1.36", ...sidecar }],
      "pod-spec-patch": { terminationGracePeriodSeconds: 2 },
    },
    command,
  });
}

Deno.test("a sidecar whose startup probe never passes fails the step with its name and the probe's reason", async () => {
  await using namespace = await freshNamespace();
  const result = await stepWithSidecar(namespace.name, {
    command: ["sh", "-c", "echo 'db: starting, never ready'; exec sleep 100000"],
    startupProbe: NEVER_READY,
  });
  assert.equal(result.status, 93, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /\+\+\+ :kubernetes: The sidecar "db" failed its startup probe \(Startup probe failed: db is not accepting connections\s*\) before the step started; the step's command did not run\./,
  );
  assert.match(result.stdout, /--- :kubernetes: sidecar db\ndb: starting, never ready\n/);
  assert.doesNotMatch(result.stdout, /the step ran/);
  assert.ok(result.durationMs < PROMPT_FAILURE_MS, `took ${Math.round(result.durationMs)} ms`);
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
});

Deno.test("a sidecar that exits before it started fails the step with its name and exit status", async () => {
  await using namespace = await freshNamespace();
  const result = await stepWithSidecar(namespace.name, {
    command: ["sh", "-c", "echo 'db: bad configuration'; exit 3"],
    startupProbe: NEVER_READY,
  });
  assert.equal(result.status, 93, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /\+\+\+ :kubernetes: The sidecar "db" exited with status 3 \(Error\) before the step started; the step's command did not run\./,
  );
  assert.match(result.stdout, /--- :kubernetes: sidecar db\ndb: bad configuration\n/);
  assert.doesNotMatch(result.stdout, /the step ran/);
  assert.ok(result.durationMs < PROMPT_FAILURE_MS, `took ${Math.round(result.durationMs)} ms`);
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
});

Deno.test("a sidecar that exits while the step runs is reported; the step keeps its status", async () => {
  await using namespace = await freshNamespace();
  const result = await stepWithSidecar(
    namespace.name,
    { command: ["sh", "-c", "echo 'db: bad configuration'; exit 3"] },
    "sleep 5\necho 'the step ran'",
  );
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /\+\+\+ :kubernetes: alpine:3\nthe step ran\n/);
  assert.match(
    result.stdout,
    /~~~ :kubernetes: The sidecar "db" exited with status 3 \(Error\) while the step ran, and was restarted (once|\d+ times)\./,
  );
});
