/**
 * A step whose image name is malformed: no pull or retry can help, so the hook fails at
 * once, without waiting for `image-pull-grace`, with the kubelet's message, and deletes
 * the Job.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const IMAGE = "UPPER/Case::x";

Deno.test("an invalid image name fails the step at once, well within image-pull-grace", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: IMAGE, "init-image": "", "image-pull-grace": 60 },
    command: "echo the command ran",
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 92, result.stdout + result.stderr);
  assert.ok(result.durationMs < 10_000, `failed after ${result.durationMs} ms`);
  const diagnosis =
    `+++ :kubernetes: The image of container "step" cannot be used: InvalidImageName.\n` +
    "container: step\n" +
    `image: ${IMAGE}\n` +
    "reason: InvalidImageName\n" +
    `message: Failed to apply default image tag "${IMAGE}": couldn't parse image name ` +
    `"${IMAGE}": invalid reference format: repository name (Case) must be lowercase\n` +
    "recent events:\n";
  assert.ok(result.stdout.includes(diagnosis), result.stdout);
  assert.ok(
    result.stdout.endsWith(`kubernetes plugin: deleted Job ${namespace.name}/${name}\n`),
    result.stdout,
  );
  assert.doesNotMatch(result.stdout, /the command ran/);
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 30_000 });
});
