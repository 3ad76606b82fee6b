/**
 * A step with `artifact_paths`: after the command, whatever its exit status, the step
 * container uploads the matching files with the real `buildkite-agent artifact upload`,
 * using the job's token, and the hook still ends with the command's status. The agent API
 * is a fake on a loopback port that records what the agent sends.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { freshNamespace } from "../cluster/testing.ts";
import { fakeAgentApi, HOST_NETWORK, servedRepository } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const TOKEN = "job-token-for-artifacts";
const CHECKOUT = "/buildkite/builds/test-agent/acme/scenario";
const FILES: Record<string, string> = {
  "out/a.log": "one\n",
  "out/b.log": "two\n",
  "report.xml": "<report/>\n",
};

interface CreatedArtifact {
  path: string;
  absolute_path: string;
  file_size: number;
  sha1sum: string;
}

async function stepWithArtifacts(exitStatus: number) {
  await using namespace = await freshNamespace();
  await using api = fakeAgentApi();
  await using repo = await servedRepository({ "README.md": "artifacts\n" });
  const result = await runStep({
    namespace: namespace.name,
    // In the host's network, where the git server (and the agent API) listen on 127.0.0.1.
    plugin: { image: "alpine:3", "pod-spec-patch": HOST_NETWORK },
    command: [
      "mkdir -p out",
      ...Object.entries(FILES).map(([path, content]) => `printf '${content}' > ${path}`),
      "echo not an artifact > out/notes.txt",
      "echo command done",
      `exit ${exitStatus}`,
    ].join("\n"),
    env: {
      BUILDKITE_REPO: repo.url,
      BUILDKITE_COMMIT: "HEAD",
      BUILDKITE_BRANCH: "main",
      BUILDKITE_PIPELINE_PROVIDER: "git",
      BUILDKITE_COMMIT_RESOLVED: "true",
      BUILDKITE_AGENT_ACCESS_TOKEN: TOKEN,
      BUILDKITE_AGENT_ENDPOINT: api.endpoint,
      BUILDKITE_ARTIFACT_PATHS: "out/*.log;report.xml",
    },
  });
  assert.equal(result.status, exitStatus, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /\ncommand done\n~~~ :kubernetes: Uploading artifacts: out\/\*\.log;report\.xml\n/,
  );
  assert.match(result.stdout, /Artifact uploads completed successfully/);

  const path = `/v3/jobs/${result.jobId}/artifacts`;
  assert.deepEqual(
    api.requests.map((request) => [request.method, request.path, request.authorization]),
    [["POST", path, `Token ${TOKEN}`], ["PUT", path, `Token ${TOKEN}`]],
  );
  const created = (api.requests[0].body as { artifacts: CreatedArtifact[] }).artifacts
    .map(({ path, absolute_path, file_size, sha1sum }) => ({
      path,
      absolute_path,
      file_size,
      sha1sum,
    }))
    .sort((a, b) => a.path.localeCompare(b.path));
  assert.deepEqual(
    created,
    Object.entries(FILES).map(([path, content]) => ({
      path,
      absolute_path: `${CHECKOUT}/${path}`,
      file_size: content.length,
      sha1sum: createHash("sha1").update(content).digest("hex"),
    })),
  );
  const states = (api.requests[1].body as { artifacts: { state: string }[] }).artifacts;
  assert.deepEqual(states.map((state) => state.state), ["finished", "finished", "finished"]);
  assert.deepEqual(Object.fromEntries(api.uploads), FILES);
  return result;
}

Deno.test("artifacts are uploaded after a successful command; the hook exits 0", async () => {
  const result = await stepWithArtifacts(0);
  assert.match(result.stdout, /Artifact uploads completed successfully.*\n.*timings.*\n$/);
});

Deno.test("artifacts are uploaded after a failing command; the hook exits 2", async () => {
  const result = await stepWithArtifacts(2);
  assert.ok(
    result.stdout.endsWith("~~~ :kubernetes: The step's command exited with status 2.\n"),
    result.stdout,
  );
});
