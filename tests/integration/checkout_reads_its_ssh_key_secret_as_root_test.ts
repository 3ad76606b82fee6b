/**
 * The plugin's image runs as its buildkite-agent user, but a step's checkout reads Secret
 * volumes mounted root-owned 0400 (the SSH key): the checkout runs as the step's user, root
 * unless told otherwise, so the key loads and the checkout succeeds.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { checkoutOf, HOST_NETWORK, servedRepository } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

/** A fresh ed25519 private key, as `ssh-keygen` writes it. */
async function sshKey(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kbk-ssh-" });
  const { success } = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/key`],
  }).output();
  assert.ok(success, "ssh-keygen");
  const key = await Deno.readTextFile(`${dir}/key`);
  await Deno.remove(dir, { recursive: true });
  return key;
}

Deno.test("a checkout with an SSH key Secret loads the key (root-owned 0400) and checks out", async () => {
  await using namespace = await freshNamespace();
  await using repo = await servedRepository({ "README.md": "checked out\n" });
  await testCluster().api.post(`/api/v1/namespaces/${namespace.name}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "git-ssh" },
    stringData: { "ssh-key": await sshKey() },
  });
  const result = await runStep({
    namespace: namespace.name,
    plugin: {
      image: "alpine:3",
      "git-ssh-secret-name": "git-ssh",
      "pod-spec-patch": HOST_NETWORK,
    },
    command: "cat README.md",
    env: {
      ...checkoutOf(repo.url),
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /entrypoint: ssh key: \/secrets\/ssh-key/);
  assert.match(result.stdout, /\nchecked out\n/);
});
