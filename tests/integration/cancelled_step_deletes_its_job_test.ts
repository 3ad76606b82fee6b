/**
 * A step cancelled while its command runs (the agent sends SIGTERM to the hook; a terminal
 * or a supervisor may send SIGINT or SIGHUP): the hook deletes the Job and its Secret, says
 * so and exits 128 + the signal within seconds; the pod goes and with it every process of
 * the command, the one in the background too.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const SIGNALS: [Deno.Signal, number][] = [["SIGTERM", 143], ["SIGINT", 130], ["SIGHUP", 129]];

for (const [signal, status] of SIGNALS) {
  Deno.test(`${signal} during the command: ${status} within 5 s, the Job, pod, processes and Secret gone`, async () => {
    await using namespace = await freshNamespace();
    // The node agent runs containers as host processes: their pids, written here through a
    // hostPath mount, are the host's.
    const pids = await Deno.makeTempDir({ prefix: "kbk-step-pids-" });
    try {
      const result = await runStep({
        namespace: namespace.name,
        plugin: { image: "alpine:3", "init-image": "", "mount-hostpath": `${pids}:/pids` },
        command: [
          "sleep 300 &",
          "echo $! > /pids/background",
          "echo $$ > /pids/shell",
          "echo started",
          "wait",
        ].join("\n"),
        // A job token makes the step create its Secret, which must go too.
        env: { BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
        signal: { when: /\nstarted\n/, signal },
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
      assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
      assert.deepEqual(await objectNames(namespace.name, "secrets"), []);
      await waitUntilNone(namespace.name, "pods", { timeoutMs: 60_000 });
      for (const file of ["shell", "background"]) {
        const pid = Number(await Deno.readTextFile(`${pids}/${file}`));
        assert.ok(pid > 1, `${file}: ${pid}`);
        assert.equal(await alive(pid), false, `the ${file} process ${pid} is still running`);
      }
    } finally {
      await Deno.remove(pids, { recursive: true });
    }
  });
}

/**
 * Whether a process runs. A dead orphan stays a zombie until this machine's init reaps it,
 * which it does lazily: a zombie counts as gone.
 */
async function alive(pid: number): Promise<boolean> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return !/^State:\s+[ZX]/m.test(status);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
