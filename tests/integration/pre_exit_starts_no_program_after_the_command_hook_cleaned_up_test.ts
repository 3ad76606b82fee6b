/**
 * After a step that ran to its verdict, the command hook deletes the step's Job and Secret
 * and sweeps old Jobs itself, and says so to the job's later hooks: the pre-exit hook then
 * starts no program. Whenever the command hook did not (the option off, the hook killed),
 * the pre-exit hook cleans up as it always did.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName } from "./fixtures.ts";
import { newJobId, runHook } from "./step_runner.ts";

const PLUGIN = { image: "alpine:3", "init-image": "" };
/** With a job token, so that the step has a Secret. */
const ENV = { BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" };

for (const [command, status] of [["echo done", 0], ["echo done; exit 3", 3]] as const) {
  Deno.test(`a step ending ${status}: its Job and Secret are gone when the command hook exits, pre-exit starts no program`, async () => {
    await using namespace = await freshNamespace();
    const ns = namespace.name;
    const jobId = newJobId();
    const ran = await runHook("command", {
      namespace: ns,
      jobId,
      plugin: PLUGIN,
      command,
      env: ENV,
    });
    assert.equal(ran.status, status, ran.output);
    assert.match(ran.output, /^done$/m);
    assert.deepEqual(await objectNames(ns, "jobs"), []);
    assert.deepEqual(await objectNames(ns, "secrets"), []);
    assert.deepEqual(ran.exported, { BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP: jobId });

    const preExit = await runHook("pre-exit", {
      namespace: ns,
      jobId,
      plugin: PLUGIN,
      env: { ...ENV, ...ran.exported },
    });
    assert.equal(preExit.status, 0);
    assert.equal(preExit.output, "kubernetes plugin: the command hook has cleaned up already\n");
    assert.deepEqual([...ran.programRuns, ...preExit.programRuns], ["run"]);
  });
}

Deno.test("job-cleanup-after-finished-via-plugin off: the Job stays, and pre-exit starts the program as before", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const jobId = newJobId();
  const plugin = { ...PLUGIN, "job-cleanup-after-finished-via-plugin": false };
  const ran = await runHook("command", { namespace: ns, jobId, plugin, command: "true", env: ENV });
  assert.equal(ran.status, 0, ran.output);
  assert.deepEqual(ran.exported, {});
  assert.deepEqual(await objectNames(ns, "jobs"), [stepJobName(jobId)]);

  const preExit = await runHook("pre-exit", { namespace: ns, jobId, plugin, env: ENV });
  assert.equal(preExit.status, 0);
  assert.equal(preExit.output, "~~~ :kubernetes: Cleanup\n");
  assert.deepEqual(preExit.programRuns, ["cleanup"]);
  assert.deepEqual(await objectNames(ns, "jobs"), [stepJobName(jobId)]);
});

Deno.test("a command hook killed while its step runs: pre-exit starts the program and deletes the Job", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const jobId = newJobId();
  const ran = await runHook("command", {
    namespace: ns,
    jobId,
    plugin: PLUGIN,
    // Ends at once when its pod is deleted (a shell as PID 1 ignores SIGTERM otherwise).
    command: "trap 'exit 143' TERM; echo waiting; sleep 300 & wait",
    env: ENV,
    killWhen: /^waiting$/m,
  });
  assert.equal(ran.status, 137, ran.output);
  assert.deepEqual(ran.exported, {});
  assert.deepEqual(await objectNames(ns, "jobs"), [stepJobName(jobId)]);

  const preExit = await runHook("pre-exit", { namespace: ns, jobId, plugin: PLUGIN, env: ENV });
  assert.equal(preExit.status, 0);
  assert.equal(
    preExit.output,
    `~~~ :kubernetes: Cleanup\nkubernetes plugin: deleted Job ${ns}/${stepJobName(jobId)}\n`,
  );
  assert.deepEqual(preExit.programRuns, ["cleanup"]);
  assert.deepEqual(await objectNames(ns, "jobs"), []);
});
