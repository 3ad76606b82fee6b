/**
 * A step whose pod has a native sidecar (an init container with `restartPolicy: Always`,
 * as a service mesh or a Vault agent adds), added with `pod-spec-patch`: it prints a line
 * and then runs until the pod stops it, and it ignores SIGTERM for longer than the plugin
 * waits for logs after the verdict. The checkout and the step still show live and in full,
 * the sidecar's log shows collapsed, and the hook ends as soon as the step container ends.
 * The step waits for the test, which answers only once it has seen the step's first line.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import type { Pod } from "../cluster/kube_types.ts";
import {
  checkoutOf,
  firstSeenAt,
  HOST_NETWORK,
  hostDirectory,
  servedRepository,
  stepJobName,
} from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

/** How long the step waits for the test to answer, at most (s). */
const ANSWER_WAIT_S = 30;

/** How long the hook may take to end once the step container has ended (ms). */
const PROMPT_END_MS = 15_000;

Deno.test("a native sidecar that keeps running holds up neither the step's log nor the hook", async () => {
  await using namespace = await freshNamespace();
  await using repo = await servedRepository({ "README.md": "hello from the repository\n" });
  await using shared = await hostDirectory();
  const jobId = newJobId();
  const stepEnded = firstSeenAt<Pod>(
    namespace.name,
    "pods",
    `batch.kubernetes.io/job-name=${stepJobName(jobId)}`,
    (pod) =>
      pod.status?.containerStatuses?.some((status) =>
        status.name === "step" && status.state?.terminated !== undefined
      ) ?? false,
  );
  let answered = false;
  const result = await runStep({
    namespace: namespace.name,
    jobId,
    plugin: {
      image: "alpine:3",
      "pod-spec-patch": {
        ...HOST_NETWORK,
        // Longer than the plugin reads logs after the verdict: the sidecar outlives it.
        terminationGracePeriodSeconds: 90,
        volumes: [shared.volume("shared")],
        initContainers: [{
          name: "mesh",
          image: "alpine:3",
          restartPolicy: "Always",
          // As the pod's first process, sleep ignores the SIGTERM that stops the sidecar.
          command: ["sh", "-c", "echo 'sidecar up'; exec sleep 100000"],
        }],
        containers: [{ name: "step", volumeMounts: [{ name: "shared", mountPath: "/shared" }] }],
      },
    },
    command: [
      "echo 'the step runs'",
      "cat README.md",
      `for i in $(seq 1 ${ANSWER_WAIT_S}); do [ -e /shared/answer ] && break; sleep 1; done`,
      "if [ -e /shared/answer ]; then echo 'answered while running'; else echo 'no answer'; fi",
    ].join("\n"),
    env: {
      ...checkoutOf(repo.url),
    },
    onOutput: (stdout) => {
      if (answered || !stdout.includes("the step runs\n")) return;
      answered = true;
      Deno.writeTextFileSync(`${shared.path}/answer`, "");
    },
  });
  const endedAt = await stepEnded;
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const checkout = result.stdout.indexOf("--- :kubernetes: checkout\n");
  const step = result.stdout.indexOf("+++ :kubernetes: alpine:3\n");
  const sidecar = result.stdout.indexOf("--- :kubernetes: sidecar mesh\n");
  assert.ok(checkout !== -1 && checkout < step && step < sidecar, result.stdout);
  assert.match(result.stdout.slice(checkout, step), /git clone/);
  assert.equal(
    result.stdout.slice(step, sidecar),
    "+++ :kubernetes: alpine:3\nthe step runs\nhello from the repository\nanswered while running\n",
  );
  assert.match(result.stdout.slice(sidecar), /^--- :kubernetes: sidecar mesh\nsidecar up\n/);
  assert.doesNotMatch(result.stdout, /could not be read to the end/);
  assert.ok(
    result.exitedAt - endedAt < PROMPT_END_MS,
    `the hook ended ${Math.round(result.exitedAt - endedAt)} ms after the step container`,
  );
});
