/**
 * A step whose image is not in the registry yet (a build pipeline still pushing it): the
 * pull fails for real (`ErrImagePull`, then `ImagePullBackOff` with the kubelet's back-off),
 * the image is pushed while `image-pull-grace` runs, the kubelet's next pull finds it, and
 * the step runs and succeeds.
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace, pushImage } from "../cluster/testing.ts";
import { firstSeenAt, waitingFor } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

Deno.test("an image pushed during image-pull-grace is pulled and the step succeeds", async () => {
  await using namespace = await freshNamespace();
  const image = `registry.example/late-${namespace.name}:1`;
  const jobId = newJobId();
  const failing = firstSeenAt<Pod>(
    namespace.name,
    "pods",
    `buildkite/job-id=${jobId}`,
    (pod) => waitingFor(pod, /ErrImagePull|ImagePullBackOff/),
  );
  const step = runStep({
    jobId,
    namespace: namespace.name,
    plugin: { image, "init-image": "", "image-pull-grace": 120 },
    command: "echo the late image ran",
  });
  await failing;
  await pushImage(image);
  const result = await step;
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, new RegExp(`\\+\\+\\+ :kubernetes: ${RegExp.escape(image)}\\n`));
  assert.match(result.stdout, /\nthe late image ran\n/);
});
