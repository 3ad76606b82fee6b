/**
 * A step that prints nothing for longer than any request may wait for an answer. The
 * kubelet answers a followed log only with the container's first output, so the log stream
 * must be allowed to wait for it: one stream, not a new request every 30 s, and the line
 * that finally comes, once.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";

Deno.test("a step silent for 35 s keeps one log stream and shows its one line once", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", "init-image": "" },
    command: "sleep 35\necho 'after the silence'",
    env: { BUILDKITE_KUBERNETES_PLUGIN_DEBUG: "true" },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.equal(result.stdout.split("after the silence\n").length, 2, result.stdout);
  assert.doesNotMatch(result.stderr, /step: log stream/, result.stderr);
});
