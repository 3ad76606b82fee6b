/**
 * A step that mounts a Secret that does not exist (`mount-secret`): the kubelet cannot
 * mount the volume (`FailedMount` Events) and keeps the pod `ContainerCreating`, since the
 * Secret may yet be created. The hook waits for `image-pull-grace`, not the whole
 * `pending-timeout`, then fails with 93 and the kubelet's message, and deletes the Job.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const GRACE_SECONDS = 3;

Deno.test("a missing Secret volume fails the step after the grace with 93 and FailedMount", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "mount-secret": "absent-secret:/secrets",
      "image-pull-grace": GRACE_SECONDS,
      "pending-timeout": 300,
    },
    command: "echo the command ran",
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 93, result.stdout + result.stderr);
  assert.ok(result.durationMs < 60_000, `failed after ${result.durationMs} ms`);
  assert.match(
    result.stdout,
    new RegExp(
      `\\+\\+\\+ :kubernetes: A volume of pod ${name}-\\w+ could not be mounted for \\d+s ` +
        "\\(FailedMount\\)\\.\\n" +
        "reason: FailedMount\\n" +
        'message: MountVolume\\.SetUp failed for volume "[^"]+" : secret "absent-secret" not found\\n',
    ),
  );
  assert.doesNotMatch(result.stdout, /the command ran/);
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 30_000 });
});
