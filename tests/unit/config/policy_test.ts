/** Reading the operator's policy and the agent's identity: what an operator's mistake shows. */
import assert from "node:assert/strict";
import { readPolicy } from "../../../src/config/policy.ts";
import { UserError } from "../../../src/exit_status.ts";
import { withJobEnvFile } from "../helpers.ts";

const NO_TOKEN = { serviceAccountDir: "/nonexistent" };

function refusal(env: Record<string, string | undefined>): string {
  try {
    readPolicy(env, NO_TOKEN);
  } catch (error) {
    assert.ok(error instanceof UserError);
    assert.equal(error.exitStatus, 78);
    return error.message;
  }
  assert.fail("not refused");
}

const refusals: [string, Record<string, string | undefined>, RegExp][] = [
  [
    "a policy that is not JSON names the variable",
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: "allowPrivileged: false" },
    /^BUILDKITE_KUBERNETES_PLUGIN_POLICY: not a JSON object/,
  ],
  [
    "a misspelt rule names it and the known ones",
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: '{"allowPrivilege": false}' },
    /unknown rule `allowPrivilege`; known rules: allowedNamespaces, .*allowPatches/,
  ],
  [
    "a bad value names the rule and the value",
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: '{"allowedHostPaths": ["var/cache"]}' },
    /`allowedHostPaths\.0`: "var\/cache" must be an absolute path/,
  ],
  [
    "a bad agent ServiceAccount names the variable and the format",
    { BUILDKITE_KUBERNETES_PLUGIN_AGENT_SERVICE_ACCOUNT: "ci:agent" },
    /BUILDKITE_KUBERNETES_PLUGIN_AGENT_SERVICE_ACCOUNT="ci:agent" is not a ServiceAccount: expected <namespace>\/<name> or <name>/,
  ],
  [
    "a step's env that sets the policy is refused, not obeyed",
    withJobEnvFile({ BUILDKITE_KUBERNETES_PLUGIN_POLICY: "{}" }, {
      BUILDKITE_KUBERNETES_PLUGIN_POLICY: "{}",
    }),
    /^BUILDKITE_KUBERNETES_PLUGIN_POLICY is set by the pipeline or step \(in .*job\.json\): only the agent's operator may set it/,
  ],
  [
    "a step's env that clears the agent's Secrets is refused",
    withJobEnvFile({ BUILDKITE_KUBERNETES_PLUGIN_AGENT_SECRETS: "" }),
    /^BUILDKITE_KUBERNETES_PLUGIN_AGENT_SECRETS is set by the pipeline or step/,
  ],
];

for (const [what, env, expected] of refusals) {
  Deno.test(`policy variables: ${what}`, () => assert.match(refusal(env), expected));
}

Deno.test("policy variables: the agent's policy from its own environment is read", () => {
  const policy = readPolicy(
    withJobEnvFile({}, {
      BUILDKITE_KUBERNETES_PLUGIN_POLICY: '{"allowPrivileged": false, "allowedSecrets": ["ci-*"]}',
      BUILDKITE_KUBERNETES_PLUGIN_AGENT_SECRETS: "agent-token, agent-ssh",
      POD_NAMESPACE: "ci",
    }),
    NO_TOKEN,
  );
  assert.equal(policy.set, true);
  assert.equal(policy.rules.allowPrivileged, false);
  assert.equal(policy.rules.allowHostNamespaces, true);
  assert.deepEqual(policy.rules.allowedSecrets, ["ci-*"]);
  assert.deepEqual(policy.agent, {
    namespace: "ci",
    serviceAccount: undefined,
    secrets: ["agent-token", "agent-ssh"],
  });
});

Deno.test("policy variables: in a pod, the agent's ServiceAccount comes from its token", () => {
  const dir = Deno.makeTempDirSync();
  const claims = btoa(JSON.stringify({ sub: "system:serviceaccount:ci:buildkite-agent" }))
    .replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  Deno.writeTextFileSync(`${dir}/token`, `eyJhbGciOiJSUzI1NiJ9.${claims}.signature\n`);
  const policy = readPolicy({}, { serviceAccountDir: dir });
  assert.equal(policy.set, false);
  assert.deepEqual(policy.agent, {
    namespace: "ci",
    serviceAccount: "buildkite-agent",
    secrets: [],
  });
});
