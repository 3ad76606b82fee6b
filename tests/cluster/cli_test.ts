import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("./cli.ts", import.meta.url));

async function cli(stateDir: string, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", CLI, ...args],
    env: { KBK_CLUSTER_DIR: stateDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("the cluster CLI reports a directory without a cluster and rejects unknown commands", async () => {
  const stateDir = `${await Deno.makeTempDir()}/none`;
  const status = await cli(stateDir, "status");
  assert.equal(status.code, 1);
  assert.equal(status.stdout, `not running (no cluster in ${stateDir})\n`);
  const down = await cli(stateDir, "down");
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout, "");
  const unknown = await cli(stateDir, "start");
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, "usage: deno task cluster up|down|status\n");
  await Deno.remove(stateDir.slice(0, -"/none".length), { recursive: true });
});
