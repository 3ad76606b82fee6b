/**
 * An infrastructure failure's diagnosis also becomes a build annotation (what Buildkite then
 * receives: tests/end_to_end/diagnosis_becomes_an_annotation_test.ts). When the annotation
 * cannot be made (here a `buildkite-agent` that fails as on a 401), the hook says so and
 * nothing else changes.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";

Deno.test("an annotation that cannot be made is reported, and changes nothing else", async () => {
  await using namespace = await freshNamespace();
  const bin = await Deno.makeTempDir({ prefix: "kbk-fake-agent-" });
  await Deno.writeTextFile(
    `${bin}/buildkite-agent`,
    "#!/bin/sh\necho 'POST annotations: 401 Unauthorized' >&2\nexit 1\n",
  );
  await Deno.chmod(`${bin}/buildkite-agent`, 0o755);
  const result = await runStep({
    namespace: namespace.name,
    plugin: { "image": "UPPER/Case::x", "init-image": "" },
    command: "true",
    env: { BUILDKITE_BIN_PATH: bin, BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
  });
  assert.equal(result.status, 92, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /kubernetes plugin: could not add the build annotation \(exit 1: POST annotations: 401 Unauthorized\)\n/,
  );
  await Deno.remove(bin, { recursive: true });
});
