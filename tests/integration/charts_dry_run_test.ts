/**
 * The charts against the real API server of the test run's control plane: every object of
 * both charts, with default values and with every value set, passes a server-side dry run
 * (schema, strict field validation, admission); and the agent's ServiceAccount, once the
 * chart is applied, may do exactly what the program needs and nothing near it.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { binaryPath, fullValues, helmTemplate, run } from "../helm.ts";

function kubectl(args: string[], input?: string) {
  return run(binaryPath("kubectl"), ["--kubeconfig", testCluster().kubeconfigPath, ...args], input);
}

for (const chart of ["agent", "buildscaler"]) {
  for (const valuesFile of [undefined, fullValues(chart)]) {
    const label = valuesFile ? "every value set" : "default values";
    Deno.test(`${chart} chart with ${label}: the API server accepts every object (dry run)`, async () => {
      await using namespace = await freshNamespace();
      // The agent's steps namespace and, with every value set, one more steps namespace:
      // the Roles and Secret copies in them need the namespaces to exist, so the chart's own
      // Namespace object is applied (dry run) over an existing one.
      await using steps = await freshNamespace();
      await using moreSteps = await freshNamespace();
      const set = chart !== "agent" ? [] : [
        `stepsNamespace.name=${steps.name}`,
        ...valuesFile ? [`rbac.namespaces={${moreSteps.name}}`] : [],
      ];
      const manifests = helmTemplate(chart, {
        namespace: namespace.name,
        release: namespace.name,
        valuesFile,
        set,
      });
      const objects = manifests.match(/^kind: /gm)?.length ?? 0;
      const outcome = kubectl(
        ["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
        manifests,
      );
      assert.equal(outcome.status, 0, outcome.stderr);
      const accepted = outcome.stdout.split("\n").filter((line) =>
        line.endsWith("(server dry run)")
      );
      assert.equal(accepted.length, objects, outcome.stdout);
    });
  }
}

Deno.test("agent chart applied: its ServiceAccount may do what the program does, and no more", async () => {
  await using namespace = await freshNamespace();
  await using elsewhere = await freshNamespace();
  const release = "agent";
  const manifests = helmTemplate("agent", {
    namespace: namespace.name,
    release,
    set: ["stepsNamespace.enabled=false"],
  });
  const applied = kubectl(["apply", "-f", "-"], manifests);
  assert.equal(applied.status, 0, applied.stderr);

  const as = `system:serviceaccount:${namespace.name}:${release}`;
  const canI = (verb: string, resource: string, where = namespace.name) => {
    const outcome = kubectl(["auth", "can-i", verb, resource, "--as", as, "--namespace", where]);
    assert.ok(outcome.stdout.trim() === "yes" || outcome.stdout.trim() === "no", outcome.stderr);
    return outcome.stdout.trim() === "yes";
  };
  const allowed: [string, string][] = [
    ...["create", "get", "list", "watch", "patch", "delete"].map((v) => [v, "jobs.batch"]),
    ...["get", "list", "watch"].map((v) => [v, "pods"]),
    ["get", "pods/log"],
    ["list", "events"],
    ["watch", "events"],
    ["create", "secrets"],
    ["delete", "secrets"],
  ] as [string, string][];
  const denied: [string, string][] = [
    ["update", "jobs.batch"],
    ["deletecollection", "jobs.batch"],
    ["create", "pods"],
    ["delete", "pods"],
    ["create", "pods/exec"],
    ["get", "secrets"],
    ["list", "secrets"],
    ["update", "secrets"],
    ["get", "configmaps"],
    ["create", "events"],
    ["create", "rolebindings.rbac.authorization.k8s.io"],
  ];
  for (const [verb, resource] of allowed) {
    assert.ok(canI(verb, resource), `may ${verb} ${resource}`);
    assert.ok(
      !canI(verb, resource, elsewhere.name),
      `may not ${verb} ${resource} in another namespace`,
    );
  }
  for (const [verb, resource] of denied) {
    assert.ok(!canI(verb, resource), `may not ${verb} ${resource}`);
  }
});
