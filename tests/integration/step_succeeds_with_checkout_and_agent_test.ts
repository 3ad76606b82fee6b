/**
 * A step that succeeds: the checkout container clones the repository with the real
 * `buildkite-agent bootstrap`, the step runs in the checkout with `buildkite-agent` at hand
 * and its job token from the per-step Secret, and the hook exits 0.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { checkoutOf, HOST_NETWORK, servedRepository } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const TOKEN = "job-token-1234";

Deno.test("a step succeeds: checkout, command with the agent and its token, exit 0", async () => {
  await using namespace = await freshNamespace();
  await using repo = await servedRepository({ "README.md": "hello from the repository\n" });
  const result = await runStep({
    namespace: namespace.name,
    // In the host's network, where the git server (and the agent API) listen on 127.0.0.1.
    // The Job is kept after the step, so that it can be searched for the token below.
    plugin: {
      image: "alpine:3",
      "pod-spec-patch": HOST_NETWORK,
      "job-cleanup-after-finished-via-plugin": false,
    },
    command: [
      "pwd",
      "cat README.md",
      "buildkite-agent --version",
      'printf %s "$BUILDKITE_AGENT_ACCESS_TOKEN" | sha256sum',
    ].join("\n"),
    env: {
      ...checkoutOf(repo.url),
      BUILDKITE_AGENT_ACCESS_TOKEN: TOKEN,
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const checkout = result.stdout.indexOf("--- :kubernetes: checkout");
  const step = result.stdout.indexOf("+++ :kubernetes: alpine:3");
  assert.ok(checkout !== -1 && step > checkout, result.stdout);
  assert.match(result.stdout.slice(checkout, step), /git clone/);
  const hash = createHash("sha256").update(TOKEN).digest("hex");
  assert.match(
    result.stdout.slice(step),
    new RegExp(
      `^\\+\\+\\+ :kubernetes: alpine:3\\n/buildkite/builds/test-agent/acme/scenario\\n` +
        `hello from the repository\\nbuildkite-agent version 3\\.\\d+\\.\\d+\\S*\\n${hash}  -\\n`,
    ),
  );
  assert.equal(result.stdout.includes(TOKEN), false, "the token never reaches the log");
  const jobs = await testCluster().api.get<{ items: unknown[] }>(
    `/apis/batch/v1/namespaces/${namespace.name}/jobs`,
  );
  assert.equal(jobs.items.length, 1);
  assert.equal(JSON.stringify(jobs.items).includes(TOKEN), false, "nor the Job");
});
