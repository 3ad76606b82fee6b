/**
 * An infrastructure failure's diagnosis also becomes a build annotation: what Buildkite
 * receives through the agent's `buildkite-agent annotate`, with the job's own token.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { scenario } from "./fixtures.ts";

Deno.test("an image that cannot be pulled: its diagnosis is annotated on the build", async () => {
  await using namespace = await freshNamespace();
  await using run = await scenario(namespace.name, {
    plugin: { "image": "registry.invalid/nothing:1", "init-image": "", "image-pull-grace": 1 },
    command: "true",
  });
  const { job } = run;
  const finish = await job.ended();
  assert.equal(finish.exit_status, "91", job.log());
  const annotations = job.api.annotations(job.id);
  assert.equal(annotations.length, 1, job.log());
  const [annotation] = annotations;
  assert.equal(annotation.context, `kubernetes-${job.id}`);
  assert.equal(annotation.style, "error");
  assert.match(
    annotation.body,
    /^\*\*:kubernetes: The image of container "step" could not be pulled for \d+s \((ErrImagePull|ImagePullBackOff)\)\.\*\*\n\n```\n/,
  );
  assert.match(annotation.body, /image: registry\.invalid\/nothing:1\n/);
  assert.match(annotation.body, /recent events:\n.*Failed/s);
  assert.equal(job.log().includes("could not add the build annotation"), false);
  assert.deepEqual(job.api.refusals, []);
});
