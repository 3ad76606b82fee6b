/**
 * A step cancelled while its command runs (the agent sends its `cancel-signal`: SIGTERM,
 * or SIGINT, SIGHUP or SIGQUIT, the four its bootstrap forwards): the hook deletes the Job
 * and its Secret, says so and exits 128 + the signal within seconds; the pod goes and with
 * it every process of the command, the one in the background too.
 */
import assert from "node:assert/strict";
import { processesWith } from "../cluster/processes.ts";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const SIGNALS: [Deno.Signal, number][] = [
  ["SIGTERM", 143],
  ["SIGINT", 130],
  ["SIGHUP", 129],
  ["SIGQUIT", 131],
];

for (const [signal, status] of SIGNALS) {
  Deno.test(`${signal} during the command: ${status} within 5 s, the Job, pod, processes and Secret gone`, async () => {
    await using namespace = await freshNamespace();
    // The container's processes are this machine's too, found by a marker in their
    // command lines: the step's shell (the command is its argument) and a background one.
    const marker = `kbk-cancel-${crypto.randomUUID()}`;
    let running: number[] = [];
    const result = await runStep({
      namespace: namespace.name,
      plugin: { image: "alpine:3", "init-image": "" },
      command: [
        `# ${marker}`,
        `sh -c 'sleep 300; : ${marker}' &`,
        "echo started",
        "wait",
      ].join("\n"),
      // A job token makes the step create its Secret, which must go too.
      env: { BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
      signal: { when: /\nstarted\n/, signal },
      onOutput: (stdout) => {
        if (stdout.includes("\nstarted\n") && running.length === 0) {
          running = processesWith(marker);
        }
      },
    });
    const name = stepJobName(result.jobId);
    assert.ok(result.signalledAt !== undefined, result.stdout + result.stderr);
    assert.equal(result.status, status, result.stdout + result.stderr);
    const afterSignal = result.exitedAt - result.signalledAt;
    assert.ok(afterSignal < 5_000, `exited ${afterSignal} ms after ${signal}`);
    assert.equal(
      result.stdout,
      `~~~ :kubernetes: Creating Job ${namespace.name}/${name}\n` +
        "+++ :kubernetes: alpine:3\n" +
        "started\n" +
        `+++ :kubernetes: Cancelled (${signal}): deleted Job ${namespace.name}/${name}\n`,
    );
    assert.ok(running.length >= 2, `the shell and its background process ran: ${running}`);
    assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
    assert.deepEqual(await objectNames(namespace.name, "secrets"), []);
    await waitUntilNone(namespace.name, "pods", { timeoutMs: 60_000 });
    assert.deepEqual(processesWith(marker), [], "no process of the command is left");
  });
}
