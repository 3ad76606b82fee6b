/**
 * The agent chart's steps namespace, labelled as the chart labels it, makes the API server
 * itself refuse a privileged step's pod (Pod Security Admission, `baseline` by default): the
 * step fails at once with 95 and the server's "violates PodSecurity", while an ordinary step
 * in the same namespace still runs.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { binaryPath, helmTemplate, run } from "../helm.ts";
import { runStep, type StepResult } from "./step_runner.ts";

/** Applies the chart's steps Namespace (default values) over `steps`, an existing namespace. */
function applyStepsNamespace(release: string, steps: string): Record<string, string> {
  const manifests = helmTemplate("agent", {
    namespace: release,
    set: [`stepsNamespace.name=${steps}`],
  });
  const namespaces = YAML.parseAllDocuments(manifests).map((document) => document.toJSON())
    .filter((object) => object?.kind === "Namespace");
  assert.equal(namespaces.length, 1, "the chart renders the steps namespace");
  const applied = run(
    binaryPath("kubectl"),
    ["--kubeconfig", testCluster().kubeconfigPath, "apply", "-f", "-"],
    YAML.stringify(namespaces[0]),
  );
  assert.equal(applied.status, 0, applied.stderr);
  return namespaces[0].metadata.labels;
}

function log(result: StepResult): string {
  return result.stdout + result.stderr;
}

Deno.test("a privileged step in the chart's steps namespace is refused by Pod Security at once (95)", async () => {
  await using release = await freshNamespace();
  await using steps = await freshNamespace();
  const labels = applyStepsNamespace(release.name, steps.name);
  assert.equal(labels["pod-security.kubernetes.io/enforce"], "baseline");

  const refused = await runStep({
    namespace: steps.name,
    plugin: {
      "image": "alpine:3",
      "init-image": "",
      "privileged": true,
      "pod-creation-grace": 300,
    },
    command: "echo should not run",
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "a-job-token" },
  });
  assert.equal(refused.status, 95, log(refused));
  assert.match(log(refused), /violates PodSecurity "baseline:latest": privileged/);
  assert.equal(refused.stdout.includes("should not run"), false);
  // At once: long before pod-creation-grace, which a FailedCreate a retry could heal waits for.
  assert.ok(refused.durationMs < 60_000, `took ${refused.durationMs}ms`);

  const allowed = await runStep({
    namespace: steps.name,
    plugin: { "image": "alpine:3", "init-image": "" },
    command: "echo from the pod\nexit 3",
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "a-job-token" },
  });
  assert.equal(allowed.status, 3, log(allowed));
  assert.match(allowed.stdout, /from the pod\n/);
});
