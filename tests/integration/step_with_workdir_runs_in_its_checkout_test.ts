/**
 * `workdir` puts the checkout there, as the bash plugins did: a step with
 * `workdir: /go/src/github.com/acme/app` (a GOPATH layout) runs there and finds the files
 * the checkout container cloned, the same directory as the checkout's own path.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { checkoutOf, HOST_NETWORK, servedRepository } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

Deno.test("a step with workdir runs in its checkout: the cloned files are there", async () => {
  await using namespace = await freshNamespace();
  await using repo = await servedRepository({ "README.md": "hello from the repository\n" });
  const result = await runStep({
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      workdir: "/go/src/github.com/acme/app",
      // In the host's network, where the git server listens on 127.0.0.1.
      "pod-spec-patch": HOST_NETWORK,
    },
    command: [
      "pwd",
      "cat README.md",
      "echo built > output.txt",
      'cat "$BUILDKITE_BUILD_CHECKOUT_PATH/output.txt"',
    ].join("\n"),
    env: {
      ...checkoutOf(repo.url),
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const step = result.stdout.indexOf("+++ :kubernetes: alpine:3");
  assert.ok(step !== -1, result.stdout);
  assert.match(
    result.stdout.slice(step),
    /^\+\+\+ :kubernetes: alpine:3\n\/go\/src\/github\.com\/acme\/app\nhello from the repository\nbuilt\n/,
  );
});
