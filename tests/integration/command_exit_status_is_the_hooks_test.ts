/**
 * A step whose command fails: the hook ends with the command's own exit status, and the
 * build log shows everything the command printed, as it was printed, once, in order. The
 * pauses in the command make the log arrive in pieces while it is followed.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

function numbered(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, index) => `${prefix} ${index + 1}\n`).join("");
}

Deno.test("the command exits 3: the hook exits 3 and its output appears once, in order", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", "init-image": "" },
    command: [
      'for i in $(seq 1 300); do echo "first $i"; done',
      "sleep 1",
      "echo 'to stderr' >&2",
      "sleep 1",
      'for i in $(seq 1 300); do echo "second $i"; done',
      "exit 3",
    ].join("\n"),
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 3, result.stdout + result.stderr);
  assert.equal(
    result.stdout,
    `~~~ :kubernetes: Creating Job ${namespace.name}/${name}\n` +
      "+++ :kubernetes: alpine:3\n" +
      numbered("first", 300) +
      "to stderr\n" +
      numbered("second", 300) +
      "~~~ :kubernetes: The step's command exited with status 3.\n",
  );
  assert.equal(result.stderr, "");
  // Once the verdict is out, the command hook deletes the finished step's Job (its pod goes
  // with it), so the pre-exit hook need not.
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
});
