import assert from "node:assert/strict";
import { exportedByHooks } from "../../../src/config/hook_exports.ts";

Deno.test("what hooks exported: the names the shim lists, not the bootstrap's nor the machine's", () => {
  const env = {
    BUILDKITE_KUBERNETES_PLUGIN_HOOK_EXPORTS:
      "NPM_TOKEN CHANGED PATH PWD SHLVL _ SSH_AUTH_SOCK BUILDKITE_LAST_HOOK_EXIT_STATUS GONE",
    PATH: "/opt/bin:/usr/bin",
    CHANGED: "after",
    NPM_TOKEN: "secret",
    BUILDKITE_LAST_HOOK_EXIT_STATUS: "0",
    PWD: "/build",
    SHLVL: "2",
    _: "/bin/bash",
    SSH_AUTH_SOCK: "/tmp/agent.1",
    NOT_LISTED: "x",
  };
  assert.deepEqual([...exportedByHooks(env)], [["CHANGED", "after"], ["NPM_TOKEN", "secret"]]);
  assert.deepEqual([...exportedByHooks({ NOT_LISTED: "x" })], []);
});
