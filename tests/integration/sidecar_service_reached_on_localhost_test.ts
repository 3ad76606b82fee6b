/**
 * A step with a database-like service in `sidecars` (a busybox `nc` listener with a startup
 * probe that connects to it, the build directory mounted): the step container starts once the
 * service listens, reaches it on localhost and reads what it left in the build directory;
 * the step's log streams while the sidecar runs (the step waits for the test, which answers
 * only once it has seen the step's line), the sidecar's log follows collapsed, and the hook
 * ends with the command's status within seconds of the command's end.
 */
import assert from "node:assert/strict";
import type { Pod } from "../cluster/kube_types.ts";
import { freshNamespace } from "../cluster/testing.ts";
import { firstSeenAt, hostDirectory, stepJobName } from "./fixtures.ts";
import { newJobId, runStep } from "./step_runner.ts";

/** How long the step waits for the test to answer, at most (s). */
const ANSWER_WAIT_S = 30;

/** How long the hook may take to end once the step container has ended (ms). */
const PROMPT_END_MS = 15_000;

const BUILD_PATH = "/buildkite/builds";

Deno.test("a sidecar service is reached on localhost, the step's log streams, its status ends the hook", async () => {
  await using namespace = await freshNamespace();
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
      "init-image": "",
      sidecars: [{
        name: "db",
        image: "busybox:1.36",
        command: [
          "sh",
          "-c",
          `echo 'from the sidecar' > ${BUILD_PATH}/db-note\n` +
          "echo 'db: listening on 5432'\n" +
          "while true; do echo pong | nc -l -p 5432; done",
        ],
        ports: [{ containerPort: 5432, name: "db" }],
        // A connection from inside the pod: on this machine the kubelet's own TCP probes of a
        // pod's address are answered by the sandbox whatever listens.
        startupProbe: {
          exec: { command: ["sh", "-c", "echo probe | nc -w 1 127.0.0.1 5432"] },
          periodSeconds: 1,
          failureThreshold: 30,
        },
        "mount-checkout": true,
      }],
      "pod-spec-patch": {
        terminationGracePeriodSeconds: 3,
        volumes: [shared.volume("shared")],
        containers: [{ name: "step", volumeMounts: [{ name: "shared", mountPath: "/shared" }] }],
      },
    },
    command: [
      "echo 'the step asks the db'",
      "echo ping | nc -w 5 localhost 5432",
      `cat ${BUILD_PATH}/db-note`,
      `for i in $(seq 1 ${ANSWER_WAIT_S}); do [ -e /shared/answer ] && break; sleep 1; done`,
      "if [ -e /shared/answer ]; then echo 'answered while running'; else echo 'no answer'; fi",
      "exit 7",
    ].join("\n"),
    env: { BUILDKITE_BUILD_PATH: BUILD_PATH },
    onOutput: (stdout) => {
      if (answered || !stdout.includes("the step asks the db\n")) return;
      answered = true;
      Deno.writeTextFileSync(`${shared.path}/answer`, "");
    },
  });
  const endedAt = await stepEnded;
  assert.equal(result.status, 7, result.stdout + result.stderr);
  const step = result.stdout.indexOf("+++ :kubernetes: alpine:3\n");
  const sidecar = result.stdout.indexOf("--- :kubernetes: sidecar db\n");
  assert.ok(step !== -1 && step < sidecar, result.stdout);
  assert.equal(
    result.stdout.slice(step, sidecar),
    "+++ :kubernetes: alpine:3\nthe step asks the db\npong\nfrom the sidecar\n" +
      "answered while running\n",
  );
  assert.match(
    result.stdout.slice(sidecar),
    /^--- :kubernetes: sidecar db\ndb: listening on 5432\n/,
  );
  assert.match(result.stdout.slice(sidecar), /^ping$/m);
  assert.match(result.stdout, /The step's command exited with status 7\./);
  assert.ok(
    result.exitedAt - endedAt < PROMPT_END_MS,
    `the hook ended ${Math.round(result.exitedAt - endedAt)} ms after the step container`,
  );
});
