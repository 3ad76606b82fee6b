/**
 * A step that runs as a non-root user (as `USER 1000` images such as `node` do), by
 * `run-as-user: 1000` or by its container's `securityContext` in `pod-spec-patch`, checks
 * out with the real `buildkite-agent bootstrap` and writes into its checkout: the checkout
 * container ran as that user, so the files belong to it, and `npm ci`'s `node_modules` can
 * be made there.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { checkoutOf, HOST_NETWORK, servedRepository } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

async function writeIntoTheCheckout(plugin: Record<string, unknown>) {
  await using namespace = await freshNamespace();
  await using repo = await servedRepository({ "package.json": '{"name": "app"}\n' });
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", ...plugin },
    command: [
      "id -u",
      "mkdir node_modules",
      "echo installed > node_modules/app",
      "echo changed >> package.json",
      "stat -c '%u %n' . package.json node_modules/app .git",
    ].join("\n"),
    env: {
      ...checkoutOf(repo.url),
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const step = result.stdout.indexOf("+++ :kubernetes: alpine:3");
  assert.ok(step !== -1, result.stdout);
  assert.match(result.stdout.slice(0, step), /git clone/);
  assert.match(
    result.stdout.slice(step),
    /^\+\+\+ :kubernetes: alpine:3\n1000\n1000 \.\n1000 package\.json\n1000 node_modules\/app\n1000 \.git\n/,
  );
}

Deno.test("a USER 1000 step (run-as-user: 1000) writes into its checkout", async () => {
  // In the host's network, where the git server listens on 127.0.0.1.
  await writeIntoTheCheckout({ "run-as-user": 1000, "pod-spec-patch": HOST_NETWORK });
});

Deno.test("a step container patched to run as user 1000 writes into its checkout", async () => {
  await writeIntoTheCheckout({
    "pod-spec-patch": {
      ...HOST_NETWORK,
      containers: [{ name: "step", securityContext: { runAsUser: 1000 } }],
    },
  });
});
