/**
 * A step whose agent token Secret lacks the key: the checkout container cannot be created
 * (`CreateContainerConfigError`). The kubelet retries, since the key may yet be added, so
 * the hook waits for `image-pull-grace`, then fails with 93 and the kubelet's message, and
 * deletes the Job.
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { firstSeenAt, objectNames, stepJobName, waitingFor, waitUntilNone } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

const GRACE_SECONDS = 3;

Deno.test("a missing Secret key fails the step after the grace with 93 and the kubelet's message", async () => {
  await using namespace = await freshNamespace();
  await testCluster().api.post(`/api/v1/namespaces/${namespace.name}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "agent-token" },
    stringData: { "another-key": "not the token" },
  });
  const jobId = newJobId();
  const seen = firstSeenAt<Pod>(
    namespace.name,
    "pods",
    `buildkite/job-id=${jobId}`,
    (pod) => waitingFor(pod, /CreateContainerConfigError/),
  );
  const result = await runStep({
    jobId,
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "agent-token-secret-name": "agent-token",
      "image-pull-grace": GRACE_SECONDS,
    },
    command: "echo the command ran",
  });
  const name = stepJobName(result.jobId);
  assert.equal(result.status, 93, result.stdout + result.stderr);
  // Timed from when the container first could not be created, not from the program's
  // start-up, which stretches on a loaded machine and says nothing about the grace.
  const afterMs = result.exitedAt - await seen;
  assert.ok(
    afterMs >= (GRACE_SECONDS - 1) * 1000 && afterMs < (GRACE_SECONDS + 3) * 1000,
    `failed ${
      Math.round(afterMs)
    } ms after the container first could not be created; the limit is ${GRACE_SECONDS} s`,
  );
  const message = `couldn't find key buildkite-agent-token in Secret ${namespace.name}/agent-token`;
  assert.ok(
    result.stdout.startsWith(
      `~~~ :kubernetes: Creating Job ${namespace.name}/${name}\n` +
        `+++ :kubernetes: Container "bootstrap" could not be created for ${GRACE_SECONDS}s ` +
        "(CreateContainerConfigError).\n" +
        "container: bootstrap\n" +
        "image: quay.io/muhlba91/buildkite-agent:2.0.0\n" +
        "reason: CreateContainerConfigError\n" +
        `message: ${message}\n` +
        "recent events:\n",
    ),
    result.stdout,
  );
  assert.match(
    result.stdout,
    new RegExp(`Warning  Failed +Pod/${name}-\\w+: Error: ${RegExp.escape(message)}`),
  );
  assert.ok(
    result.stdout.endsWith(`kubernetes plugin: deleted Job ${namespace.name}/${name}\n`),
    result.stdout,
  );
  assert.doesNotMatch(result.stdout, /the command ran/);
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  await waitUntilNone(namespace.name, "pods", { timeoutMs: 30_000 });
  assert.deepEqual(await objectNames(namespace.name, "secrets"), ["agent-token"]);
});
