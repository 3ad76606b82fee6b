/**
 * A pod that took long to start (its image pushed late, as a build pipeline does), then a
 * dropped watch: the program watches again from the last version it saw, so the server does
 * not replay the states the pod has left, and the old "not started" state is not judged
 * anew past `pending-timeout` (which deleted a healthy, running Job with 94).
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace, pushImage, startTcpProxy } from "../cluster/testing.ts";
import { firstSeenAt, waitingFor } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

const PENDING_TIMEOUT_S = 20;

Deno.test("a step that started late survives a watch dropped after its pending-timeout", async () => {
  await using namespace = await freshNamespace();
  await using proxy = await startTcpProxy();
  const image = `registry.example/late-${namespace.name}:1`;
  const jobId = newJobId();
  const selector = `buildkite/job-id=${jobId}`;
  const failing = firstSeenAt<Pod>(
    namespace.name,
    "pods",
    selector,
    (pod) => waitingFor(pod, /ErrImagePull|ImagePullBackOff/),
  );
  const submitted = performance.now();
  const step = runStep({
    jobId,
    namespace: namespace.name,
    kubeconfigPath: proxy.kubeconfigPath,
    plugin: {
      image,
      "init-image": "",
      "image-pull-grace": 120,
      "pending-timeout": PENDING_TIMEOUT_S,
    },
    command: "sleep 25; echo finished after the dropped watch",
  });
  await failing;
  await pushImage(image);
  await firstSeenAt<Pod>(
    namespace.name,
    "pods",
    selector,
    (pod) => pod.status?.containerStatuses?.some((s) => s.state?.running) ?? false,
  );
  const cutAt = submitted + (PENDING_TIMEOUT_S + 3) * 1000;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt - performance.now())));
  const before = proxy.accepted;
  proxy.cutAll();
  const result = await step;
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /\nfinished after the dropped watch\n/);
  assert.ok(proxy.accepted > before, "the program connected again after the cut");
});
