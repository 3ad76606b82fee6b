/**
 * The charts against the real API server of the test run's control plane: every object of
 * both charts, with default values and with every value set, passes a server-side dry run
 * (schema, strict field validation, admission); and the agent's ServiceAccount, once the
 * chart is applied, may do exactly what the program needs and nothing near it.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import YAML from "yaml";
import { binaryPath, fullValues, helmTemplate, run } from "../helm.ts";

/** What the program does with the API, as `kubectl auth can-i` verbs and resources. */
const PROGRAM_NEEDS: [string, string][] = [
  ...["create", "get", "list", "watch", "patch", "delete"].map((v): [string, string] => [
    v,
    "jobs.batch",
  ]),
  ...["get", "list", "watch"].map((v): [string, string] => [v, "pods"]),
  ["get", "pods/log"],
  ["list", "events"],
  ["watch", "events"],
  ["create", "secrets"],
  ["delete", "secrets"],
];

function kubectl(args: string[], input?: string) {
  return run(binaryPath("kubectl"), ["--kubeconfig", testCluster().kubeconfigPath, ...args], input);
}

/**
 * `kubectl auth can-i` as `user`. A subresource (`pods/log`) goes as --subresource: in the
 * resource argument, `pods/log` would mean the pod named "log".
 */
function allowedTo(user: string, verb: string, resource: string, namespace: string): boolean {
  const [type, subresource] = resource.split("/");
  const args = ["auth", "can-i", verb, type, "--as", user, "--namespace", namespace];
  if (subresource) args.push("--subresource", subresource);
  const outcome = kubectl(args);
  assert.ok(outcome.stdout.trim() === "yes" || outcome.stdout.trim() === "no", outcome.stderr);
  return outcome.stdout.trim() === "yes";
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
  // Its RBAC alone, in one namespace: the admission policies are cluster-wide, and have tests of
  // their own; the steps namespace has its own test.
  const manifests = helmTemplate("agent", {
    namespace: namespace.name,
    release,
    set: ["admissionPolicy.enabled=false", "stepsNamespace.enabled=false"],
  });
  const applied = kubectl(["apply", "-f", "-"], manifests);
  assert.equal(applied.status, 0, applied.stderr);

  const as = `system:serviceaccount:${namespace.name}:${release}`;
  const canI = (verb: string, resource: string, where = namespace.name) =>
    allowedTo(as, verb, resource, where);
  const allowed = PROGRAM_NEEDS;
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

Deno.test("agent chart applied with its steps namespace: the program's rules there, only reading pods in its own", async () => {
  await using namespace = await freshNamespace();
  await using steps = await freshNamespace();
  const release = "agent";
  const manifests = YAML.parseAllDocuments(helmTemplate("agent", {
    namespace: namespace.name,
    release,
    // The cluster-wide admission policies have tests of their own, and would be left behind.
    set: [`stepsNamespace.name=${steps.name}`, "admissionPolicy.enabled=false"],
  })).map((document) => document.toJSON()).filter((object) => object?.kind !== "Deployment");
  const applied = kubectl(
    ["apply", "-f", "-"],
    manifests.map((object) => YAML.stringify(object)).join("---\n"),
  );
  assert.equal(applied.status, 0, applied.stderr);

  const as = `system:serviceaccount:${namespace.name}:${release}`;
  const canI = (verb: string, resource: string, where: string) =>
    allowedTo(as, verb, resource, where);
  for (const [verb, resource] of PROGRAM_NEEDS) {
    assert.ok(canI(verb, resource, steps.name), `may ${verb} ${resource} in the steps namespace`);
    const own = verb === "get" && resource === "pods";
    assert.equal(canI(verb, resource, namespace.name), own, `${verb} ${resource} in its own`);
  }
  for (const [verb, resource] of [["get", "secrets"], ["list", "secrets"], ["list", "pods"]]) {
    assert.ok(!canI(verb, resource, namespace.name), `may not ${verb} ${resource} in its own`);
  }
  const secrets = await testCluster().api.get<{ items: { metadata: { name: string } }[] }>(
    `/api/v1/namespaces/${steps.name}/secrets`,
  );
  assert.deepEqual(secrets.items.map((s) => s.metadata.name), [], "no Secret of the agent's");
});
