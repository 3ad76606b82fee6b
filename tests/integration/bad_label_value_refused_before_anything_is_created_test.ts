/**
 * A label value Kubernetes would refuse (a space, say) stops the step at once with 78 and a
 * message naming the option, the label and the value, before any Job, pod or Secret exists;
 * the API server's own refusal would come only after the Secret, with 90.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { objectNames } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

Deno.test("a bad label value is refused with 78 before anything is created", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", metadata: { labels: { team: "ci team" } } },
    command: "true",
    // A secret variable: without the refusal, the step would create its Secret too.
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
  });
  assert.equal(result.status, 78, result.stdout + result.stderr);
  assert.match(
    result.stdout + result.stderr,
    /option `metadata` \(from the step's plugin configuration\) item \[labels\]\[team\]: "ci team" must be a label value/,
  );
  for (const kind of ["jobs", "pods", "secrets"] as const) {
    assert.deepEqual(
      (await objectNames(namespace.name, kind)).filter((name) => !name.startsWith("default-token")),
      [],
      `no ${kind}`,
    );
  }
});
