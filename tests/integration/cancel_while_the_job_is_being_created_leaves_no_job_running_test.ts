/**
 * A step cancelled while its Job is being created, the API server slow to take or to answer
 * the request: the cancel waits for the creation's answer, deletes the Job if it exists by
 * the time it looks (by name once created, else by its `buildkite/job-id` label), and says
 * what it did; it never claims a deletion that did not happen, and no Job is left running
 * once the pre-exit hook has run.
 */
import assert from "node:assert/strict";
import { startHttpProxy } from "../cluster/http_proxy.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { objectNames, stepJobName, waitUntilNone } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

/** How the proxy treats the Job's creation, given the program's exit. */
type Slowness = (forward: () => Promise<Response>, exited: Promise<void>) => Promise<Response>;

/** A scenario: what the proxy does, what the build log says, what the cancel leaves behind. */
type Scenario = [string, Slowness, (namespace: string, name: string) => string, "none" | "the Job"];

const scenarios: Scenario[] = [
  [
    "the request reaches the server 2.5 s late: the Job then created is deleted",
    async (forward) => {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return await forward();
    },
    (namespace, name) => `+++ :kubernetes: Cancelled (SIGTERM): deleted Job ${namespace}/${name}\n`,
    "none",
  ],
  [
    "the Job is created, its answer never comes: found by its label and deleted",
    async (forward, exited) => {
      const answer = await forward();
      await exited;
      return answer;
    },
    (namespace, name) =>
      `kubernetes plugin: deleted Job ${namespace}/${name}\n` +
      `+++ :kubernetes: Cancelled (SIGTERM): creating Job ${namespace}/${name} had no answer ` +
      "within 3 s; deleted it, found by its buildkite/job-id label\n",
    "none",
  ],
  [
    "the request reaches the server only after the program has gone: said so, and pre-exit deletes the Job",
    async (forward, exited) => {
      await exited;
      return await forward();
    },
    (namespace, name) =>
      `+++ :kubernetes: Cancelled (SIGTERM): creating Job ${namespace}/${name} had no answer ` +
      "within 3 s, and no Job of this step exists now; the pre-exit hook looks for it again\n",
    "the Job",
  ],
];

for (const [scenario, slowness, said, left] of scenarios) {
  Deno.test(`cancelled while the Job is being created, ${scenario}`, async () => {
    await using namespace = await freshNamespace();
    let programExited!: () => void;
    const exited = new Promise<void>((resolve) => programExited = resolve);
    let created: Promise<unknown> = Promise.resolve();
    let posting!: () => void;
    // The cancel comes once the creation is on its way, as the proxy sees it.
    const posted = new Promise<void>((resolve) => posting = resolve);
    await using proxy = await startHttpProxy(testCluster().kubeconfigPath, (request, forward) => {
      if (request.method !== "POST" || !request.path.endsWith("/jobs")) return forward();
      posting();
      const answer = slowness(forward, exited);
      created = answer;
      return answer;
    });
    const result = await runStep({
      namespace: namespace.name,
      kubeconfigPath: proxy.kubeconfigPath,
      plugin: { image: "alpine:3", "init-image": "" },
      // Ends at once on the SIGTERM of its deletion (a shell as PID 1 ignores it otherwise).
      command: "trap 'exit 143' TERM; sleep 300 & wait",
      signal: { when: posted, signal: "SIGTERM" },
    });
    programExited();
    const name = stepJobName(result.jobId);
    assert.equal(result.status, 143, result.stdout + result.stderr);
    assert.equal(
      result.stdout,
      `~~~ :kubernetes: Creating Job ${namespace.name}/${name}\n` + said(namespace.name, name),
    );
    const afterSignal = result.exitedAt - result.signalledAt!;
    assert.ok(afterSignal < 7_000, `exited ${afterSignal} ms after SIGTERM`);
    // Whatever the creation did, it has done it now.
    await created;
    assert.deepEqual(await objectNames(namespace.name, "jobs"), left === "none" ? [] : [name]);
    const cleanup = await runStep({
      namespace: namespace.name,
      plugin: { image: "alpine:3" },
      subcommand: "cleanup",
      jobId: result.jobId,
    });
    assert.equal(cleanup.status, 0, cleanup.stdout + cleanup.stderr);
    assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
    await waitUntilNone(namespace.name, "pods", { timeoutMs: 60_000 });
  });
}
