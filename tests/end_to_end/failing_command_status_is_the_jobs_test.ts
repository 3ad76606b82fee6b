/**
 * A job whose command fails: the exit status Buildkite records in `finish` is the command's,
 * and the step's `artifact_paths` are still uploaded through the API, by the agent in the
 * step container.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { inOrder, left, scenario } from "./fixtures.ts";

Deno.test("a failing command: finish carries its status, artifact_paths are still uploaded", async () => {
  await using namespace = await freshNamespace();
  await using run = await scenario(namespace.name, {
    plugin: { image: "alpine:3" },
    command: "mkdir -p out\necho partial > out/result.log\necho failing\nexit 7",
    artifactPaths: "out/*.log",
  });
  const { job } = run;
  const finish = await job.ended();
  assert.equal(finish.exit_status, "7", job.log());
  assert.equal(finish.signal, undefined);
  inOrder(job.log(), [
    "failing\n",
    "Uploading artifacts: out/*.log",
    "The step's command exited with status 7.",
  ]);
  const artifacts = job.api.artifacts(job.id);
  assert.deepEqual(artifacts.map((a) => [a.path, a.state]), [["out/result.log", "finished"]]);
  assert.equal(new TextDecoder().decode(artifacts[0].contents), "partial\n");
  assert.deepEqual(job.api.refusals, []);
  assert.deepEqual(await left(namespace.name, "jobs"), []);
});
