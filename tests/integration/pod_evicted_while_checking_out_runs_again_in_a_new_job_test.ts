/**
 * A pod evicted (a real Eviction API call) while its checkout container runs, before the
 * step's command could have started: `lost-pod-retries` (1 by default) replaces it once by a
 * new Job (with its own Secret), the log says why, the old Job and its Secret are gone, and
 * the step then succeeds with its command run once. A cancel while the new Job runs deletes that Job: none is left.
 *
 * The checkout is a stand-in (`init-image: alpine:3`, its container's command patched) that
 * is slow the first time and quick the next, by a mark on a host directory.
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster, waitForPod } from "../cluster/testing.ts";
import {
  type HostDirectory,
  hostDirectory,
  objectNames,
  stepJobName,
  waitUntilNone,
} from "./fixtures.ts";
import { newJobId, runStep, type StepOptions } from "./step_runner.ts";

const SLOW_THE_FIRST_TIME = [
  "if [ -e /shared/checked-out-once ]; then echo 'checked out'; exit 0; fi",
  "touch /shared/checked-out-once",
  "echo 'checking out slowly'",
  "exec sleep 300",
].join("\n");

function checkingOut(pod: Pod): boolean {
  return pod.status?.initContainerStatuses?.some((status) =>
    status.name === "bootstrap" && status.state?.running !== undefined
  ) ?? false;
}

function step(namespace: string, jobId: string, shared: HostDirectory): StepOptions {
  return {
    jobId,
    namespace,
    plugin: {
      image: "alpine:3",
      "init-image": "alpine:3",
      "mount-buildkite-agent": false,
      "pod-spec-patch": {
        terminationGracePeriodSeconds: 2,
        volumes: [shared.volume("shared")],
        initContainers: [{
          name: "bootstrap",
          command: ["sh", "-c", SLOW_THE_FIRST_TIME],
          volumeMounts: [{ name: "shared", mountPath: "/shared" }],
        }],
      },
    },
    // A secret variable: the new Job gets its own Secret, the lost one's goes with its Job.
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "s3cret" },
    command: "[ \"$BUILDKITE_AGENT_ACCESS_TOKEN\" = s3cret ] && echo 'the command ran'",
  };
}

async function evict(namespace: string, pod: Pod): Promise<void> {
  await testCluster().api.post(
    `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/eviction`,
    {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: pod.metadata.name, namespace },
    },
  );
}

const REPLACED =
  /~~~ :kubernetes: The pod (\S+) was (stopped by Kubernetes|deleted by someone else) before the step finished[^\n]*; the step's command had not started, so a new Job runs the step \(lost-pod-retries: 1 of 1\)\n/;

Deno.test("a pod evicted while checking out is replaced once by a new Job, and the step succeeds", async () => {
  await using namespace = await freshNamespace();
  await using shared = await hostDirectory();
  const jobId = newJobId();
  const first = waitForPod(
    testCluster(),
    namespace.name,
    `buildkite/job-id=${jobId}`,
    checkingOut,
    {
      timeoutMs: 60_000,
      description: "check out",
    },
  );
  const running = runStep(step(namespace.name, jobId, shared));
  const pod = await first;
  await evict(namespace.name, pod);
  const result = await running;
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const replaced = result.stdout.match(REPLACED);
  assert.ok(replaced, result.stdout);
  assert.equal(replaced[1], pod.metadata.name);
  const retry = `${stepJobName(jobId)}-retry-1`;
  assert.match(
    result.stdout.slice(replaced.index),
    new RegExp(`Creating Job ${namespace.name}/${retry}\n`),
  );
  assert.equal(result.stdout.match(/^the command ran$/gm)?.length, 1, result.stdout);
  // The first Job and Secret went when it was replaced, the replacing ones after the verdict.
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  assert.deepEqual(await objectNames(namespace.name, "secrets"), []);
});

Deno.test("a cancel while the replacing Job runs deletes it: no Job is left", async () => {
  await using namespace = await freshNamespace();
  await using shared = await hostDirectory();
  const jobId = newJobId();
  const first = waitForPod(
    testCluster(),
    namespace.name,
    `buildkite/job-id=${jobId}`,
    checkingOut,
    {
      timeoutMs: 60_000,
      description: "check out",
    },
  );
  const options = step(namespace.name, jobId, shared);
  const running = runStep({
    ...options,
    command: "echo 'the command runs'\nsleep 300",
    signal: { when: /^the command runs$/m, signal: "SIGTERM" },
  });
  await evict(namespace.name, await first);
  const result = await running;
  assert.equal(result.status, 143, result.stdout + result.stderr);
  assert.match(result.stdout, REPLACED);
  assert.match(
    result.stdout,
    new RegExp(
      `Cancelled \\(SIGTERM\\): deleted Job ${namespace.name}/${stepJobName(jobId)}-retry-1`,
    ),
  );
  await waitUntilNone(namespace.name, "jobs", { timeoutMs: 30_000 });
});
