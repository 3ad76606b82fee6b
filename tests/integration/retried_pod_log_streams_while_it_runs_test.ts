/**
 * A step with `job-backoff-limit: 1` whose first pod fails before its step container
 * starts (an init container fails once): the Job controller starts a second pod, whose log
 * must stream while it runs, not only once the verdict is known. The second pod's step
 * waits for the test, which answers only once it has seen the step's first line.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { hostDirectory } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

/** How long the step waits for the test to answer, at most (s). */
const ANSWER_WAIT_S = 45;

Deno.test("a retried pod's log streams while the pod runs, not at the verdict", async () => {
  await using namespace = await freshNamespace();
  await using shared = await hostDirectory();
  let answered = false;
  const result = await runStep({
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "job-backoff-limit": 1,
      "pod-spec-patch": {
        volumes: [shared.volume("shared")],
        initContainers: [{
          name: "fails-once",
          image: "alpine:3",
          command: [
            "sh",
            "-c",
            "if [ -e /shared/tried ]; then echo 'second try'; " +
            "else touch /shared/tried; echo 'first try fails'; exit 1; fi",
          ],
          volumeMounts: [{ name: "shared", mountPath: "/shared" }],
        }],
        containers: [{ name: "step", volumeMounts: [{ name: "shared", mountPath: "/shared" }] }],
      },
    },
    command: [
      "echo 'the retried pod runs'",
      `for i in $(seq 1 ${ANSWER_WAIT_S}); do [ -e /shared/answer ] && break; sleep 1; done`,
      "if [ -e /shared/answer ]; then echo 'answered while running'; else echo 'no answer'; fi",
    ].join("\n"),
    onOutput: (stdout) => {
      if (answered || !stdout.includes("the retried pod runs\n")) return;
      answered = true;
      Deno.writeTextFileSync(`${shared.path}/answer`, "");
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const first = result.stdout.indexOf("first try fails\n");
  const retry = result.stdout.search(/--- :kubernetes: pod \S+ \(retry 1\)\n/);
  const second = result.stdout.indexOf("second try\n");
  const step = result.stdout.indexOf("+++ :kubernetes: alpine:3\nthe retried pod runs\n");
  assert.ok(first !== -1 && first < retry && retry < second && second < step, result.stdout);
  assert.match(result.stdout.slice(step), /^[^]*\nanswered while running\n/, result.stdout);
  assert.equal(result.stdout.split("the retried pod runs\n").length, 2, result.stdout);
});
