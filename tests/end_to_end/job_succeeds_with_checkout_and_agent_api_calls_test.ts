/**
 * A whole Buildkite job through the real agent: the pod checks the repository out, the
 * step's command calls `annotate`, `meta-data` and `artifact upload` with the job token from
 * the per-step Secret (the stand-in refuses a wrong one), the step's `artifact_paths` are
 * uploaded after it, the job finishes with exit status 0, and no Job is left behind: the
 * command hook deleted it, and told the pre-exit hook so (the agent carries the variable it
 * exported), which then starts no program.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { inOrder, left, scenario } from "./fixtures.ts";

Deno.test("a job succeeds: checkout, annotation, meta-data and artifact from the pod, exit 0", async () => {
  await using namespace = await freshNamespace();
  await using run = await scenario(namespace.name, {
    plugin: { image: "alpine:3" },
    command: [
      "cat README.md",
      "buildkite-agent annotate --style info --context pod 'from the pod'",
      "buildkite-agent meta-data set answer 42",
      'test "$(buildkite-agent meta-data get answer)" = 42',
      "echo report > report.txt",
      "buildkite-agent artifact upload report.txt",
      "echo summary > summary.txt",
    ].join("\n"),
    // Uploaded by the step container after the command, as the agent would.
    artifactPaths: "summary.txt",
  });
  const { job } = run;
  const finish = await job.ended();
  assert.equal(finish.exit_status, "0", job.log());
  inOrder(job.log(), [
    "Skipping the agent-side checkout: the pod checks the repository out",
    "~~~ :kubernetes: Creating Job",
    "--- :kubernetes: checkout",
    "git clone",
    "+++ :kubernetes: alpine:3\n# A repository checked out inside a Kubernetes pod\n",
    "Artifact uploads completed successfully",
    "kubernetes plugin: the command hook has cleaned up already\n",
  ]);
  assert.equal(job.log().includes(":kubernetes: Cleanup"), false, job.log());
  assert.deepEqual(await job.programRuns(), ["run"]);
  assert.deepEqual(
    job.api.annotations(job.id).map(({ context, style, body }) => ({ context, style, body })),
    [{ context: "pod", style: "info", body: "from the pod" }],
  );
  assert.equal(job.api.metaData(job.id).answer, "42");
  const artifacts = job.api.artifacts(job.id);
  assert.deepEqual(
    artifacts.map((a) => [a.path, a.state, new TextDecoder().decode(a.contents)]).sort(),
    [["report.txt", "finished", "report\n"], ["summary.txt", "finished", "summary\n"]],
  );
  assert.deepEqual(job.api.refusals, [], "every call from the pod had the right token");
  assert.deepEqual(await left(namespace.name, "jobs"), []);
});
