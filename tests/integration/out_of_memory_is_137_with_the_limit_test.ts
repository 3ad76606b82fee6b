/**
 * A step whose command uses more memory than `resources-limit-memory`: the kernel kills it
 * (OOMKilled), the hook exits 137 and says that the memory limit, named, was the cause.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

Deno.test("a command over its memory limit is OOMKilled: exit 137, the limit named", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", "init-image": "", "resources-limit-memory": "64Mi" },
    // tail holds its whole input in memory.
    command: "echo allocating\nhead -c 300000000 /dev/zero | tail\necho survived",
  });
  assert.equal(result.status, 137, result.stdout + result.stderr);
  const lines = result.stdout.split("\n");
  assert.deepEqual(lines.slice(0, 8), [
    `~~~ :kubernetes: Creating Job ${namespace.name}/${stepJobName(result.jobId)}`,
    "+++ :kubernetes: alpine:3",
    "allocating",
    // The shell's report of its child's SIGKILL; `sh -e` then stops.
    "Killed",
    "+++ :kubernetes: The step container was killed for using more memory than its limit " +
    "of 64Mi (OOMKilled, exit status 137).",
    "container: step",
    "image: alpine:3",
    "reason: OOMKilled",
  ]);
  assert.equal(lines[8], "message: memory limit 64Mi");
  assert.equal(result.stdout.includes("survived"), false);
});
