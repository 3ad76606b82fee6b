/**
 * With `agent-checkout: true` the agent checks the repository out on its own machine too
 * (for hooks that read it), before the command hook runs the step in the pod.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { scenario } from "./fixtures.ts";

Deno.test("with agent-checkout: true the agent checks the repository out too", async () => {
  await using namespace = await freshNamespace();
  await using run = await scenario(namespace.name, {
    plugin: { "image": "alpine:3", "init-image": "", "agent-checkout": true },
    command: "true",
  });
  const { job } = run;
  const finish = await job.ended();
  const log = job.log();
  assert.equal(finish.exit_status, "0", log);
  const checkoutHook = log.indexOf("Running plugin kubernetes checkout hook");
  const commandHook = log.indexOf("Running plugin kubernetes command hook");
  assert.ok(checkoutHook !== -1 && commandHook > checkoutHook, log);
  assert.match(
    log.slice(checkoutHook, commandHook),
    /git clone -v -- git:\/\/127\.0\.0\.1:\d+\/repository \./,
  );
  assert.equal(log.includes("Skipping the agent-side checkout"), false);
  const readme = `${job.agent.paths.builds}/local-agent/demo/kubernetes-plugin/README.md`;
  assert.match(await Deno.readTextFile(readme), /checked out inside a Kubernetes pod/);
});
