/**
 * A step whose image cannot be pulled: instead of hanging until a deadline, the hook fails
 * once the pull has failed for `image-pull-grace`, says which container and image and
 * why, with the pod's recent events, and deletes the Job (its pod and Secret with it).
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace } from "../cluster/testing.ts";
import { firstSeenAt, objectNames, stepJobName, waitingFor, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

const GRACE_SECONDS = 3;
const IMAGE = "registry.invalid/nope:1";
// containerd's answer when the registry (every registry, on the local node) lacks the image.
const PULL_ERROR =
  `rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": ` +
  `failed to resolve image: ${IMAGE}: not found`;

Deno.test("an unpullable image fails the step after image-pull-grace, with a diagnosis", async () => {
  await using namespace = await freshNamespace();
  const jobId = newJobId();
  const seen = firstSeenAt<Pod>(
    namespace.name,
    "pods",
    `buildkite/job-id=${jobId}`,
    (pod) => waitingFor(pod, /ErrImagePull|ImagePullBackOff/),
  );
  const result = await runStep({
    jobId,
    namespace: namespace.name,
    plugin: { image: IMAGE, "init-image": "", "image-pull-grace": GRACE_SECONDS },
    command: "echo the command ran",
    // A job token makes the step create its Secret, which must go with the Job.
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 91, result.stdout + result.stderr);
  // Timed from when the pull first failed, not from the program's start-up, which
  // stretches on a loaded machine and says nothing about the grace.
  const afterMs = result.exitedAt - await seen;
  assert.ok(
    afterMs >= (GRACE_SECONDS - 1) * 1000 && afterMs < (GRACE_SECONDS + 3) * 1000,
    `failed ${Math.round(afterMs)} ms after the pull first failed; the limit is ${GRACE_SECONDS} s`,
  );
  // The pull fails, then backs off, and fails again: either reason may be the current one.
  assert.match(
    result.stdout,
    new RegExp(
      "^~~~ :kubernetes: Creating Job .*\\n" +
        `\\+\\+\\+ :kubernetes: The image of container "step" could not be pulled for ` +
        `${GRACE_SECONDS}s \\((ErrImagePull|ImagePullBackOff)\\)\\.\\n` +
        "container: step\\n" +
        `image: ${RegExp.escape(IMAGE)}\\n` +
        "reason: \\1\\n" +
        `message: (Back-off pulling image "${RegExp.escape(IMAGE)}": ErrImagePull: )?` +
        `${RegExp.escape(PULL_ERROR)}\\n` +
        "recent events:\\n" +
        "(  .*\\n)+" +
        `kubernetes plugin: deleted Job ${namespace.name}/${name}\\n$`,
    ),
  );
  const events = result.stdout.slice(result.stdout.indexOf("recent events:\n"));
  assert.match(
    events,
    new RegExp(
      `Warning  Failed +Pod/${name}-\\w+: Failed to pull image "${RegExp.escape(IMAGE)}": `,
    ),
  );
  assert.match(events, new RegExp(`Normal   SuccessfulCreate +Job/${name}: Created pod: `));
  assert.doesNotMatch(result.stdout, /the command ran/);

  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  assert.deepEqual(await objectNames(namespace.name, "secrets"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 30_000 });
});
