/**
 * `render | kubectl create --dry-run=server -f -` for a step on a branch named `no`, with
 * labels `on: off`, `release: y` and `version: 0o14` from a jsonnet patch: kubectl reads
 * YAML as 1.1, where a plain `no` is false and the API server refused the Job ("cannot
 * unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"). The real
 * kubectl sends it, the real API server accepts it, and the labels arrive as written.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { locateBinaries } from "../cluster/binaries.ts";
import type { Job } from "../cluster/kube_types.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { jobEnvironment, newJobId } from "./step_runner.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const decoder = new TextDecoder();

Deno.test("render's Job for a branch named no is created by kubectl as it is (dry run)", async () => {
  await using namespace = await freshNamespace();
  const patch =
    "function(job) job + {metadata+: {labels+: {on: 'off', release: 'y', version: '0o14'}}}";
  const rendered = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-env", "--allow-read", MAIN, "render"],
    env: jobEnvironment({
      namespace: namespace.name,
      plugin: { image: "alpine:3", patch },
      command: "make test",
      env: { BUILDKITE_BRANCH: "no" },
    }, newJobId()),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(rendered.code, 0, decoder.decode(rendered.stderr));

  const { kubectl } = await locateBinaries();
  const child = new Deno.Command(kubectl, {
    args: [
      "--kubeconfig",
      testCluster().kubeconfigPath,
      "create",
      "--dry-run=server",
      "--output=yaml",
      "--filename=-",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(rendered.stdout);
  await writer.close();
  const created = await child.output();
  assert.equal(created.code, 0, decoder.decode(created.stderr));

  const objects = YAML.parseAllDocuments(decoder.decode(created.stdout))
    .map((document) => document.toJS() as Job);
  const job = objects.find((object) => object.kind === "Job");
  assert.ok(job, decoder.decode(created.stdout));
  const labels = job.metadata.labels ?? {};
  assert.deepEqual(
    [labels["buildkite/branch"], labels.on, labels.release, labels.version],
    ["no", "off", "y", "0o14"],
  );
});
