import assert from "node:assert/strict";
import { runClusterCli } from "./testing.ts";

Deno.test("the cluster CLI reports a directory without a cluster and rejects unknown commands", async () => {
  const stateDir = `${await Deno.makeTempDir()}/none`;
  const status = await runClusterCli(stateDir, "status");
  assert.equal(status.code, 1);
  assert.equal(status.stdout, `not running (no cluster in ${stateDir})\n`);
  const down = await runClusterCli(stateDir, "down");
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout, "");
  const unknown = await runClusterCli(stateDir, "start");
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, "usage: deno task cluster up|down|status\n");
  await Deno.remove(stateDir.slice(0, -"/none".length), { recursive: true });
});
