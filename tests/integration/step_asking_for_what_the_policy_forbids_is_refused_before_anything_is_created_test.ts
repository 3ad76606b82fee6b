/**
 * A pipeline that asks for the agent's credentials (its token Secret by envFrom, env,
 * volume or projected volume; its ServiceAccount), or for what the operator's policy
 * forbids (a host path outside the allowed prefixes, privileged, an image from a registry
 * not allowed), directly or through `pod-spec-patch` or a jsonnet `patch`, is refused with
 * 78 and a message naming what asked, the field, the value and the rule, before any Job,
 * pod or Secret exists; an allowed step still runs.
 */
import assert from "node:assert/strict";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { objectNames } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const POLICY = JSON.stringify({
  allowedHostPaths: ["/var/cache/ci"],
  allowedRegistries: ["docker.io"],
  allowPrivileged: false,
});
const AGENT_TOKEN = "agent-token";

type Case = [string, Record<string, unknown>, RegExp];

const cases: Case[] = [
  [
    "the agent's token Secret by envFrom",
    { "environment-from-secret": AGENT_TOKEN },
    /option `environment-from-secret` \(from the step's plugin configuration\): spec\.template\.spec\.containers\[step\]\.envFrom\[0\]\.secretRef\.name is "agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's token Secret by env secretKeyRef",
    {
      "pod-spec-patch": {
        containers: [{
          name: "step",
          env: [{ name: "T", valueFrom: { secretKeyRef: { name: AGENT_TOKEN, key: "token" } } }],
        }],
      },
    },
    /`pod-spec-patch`: spec\.template\.spec\.containers\[step\]\.env\[T\]\.valueFrom\.secretKeyRef\.name is "agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's token Secret as a volume",
    { "mount-secret": `${AGENT_TOKEN}:/token` },
    /option `mount-secret` \(from the step's plugin configuration\): spec\.template\.spec\.volumes\[secret-0\]\.secret\.secretName is "agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's token Secret in a projected volume of a jsonnet patch",
    {
      patch:
        "function(job) job + { spec+: { template+: { spec+: { volumes+: [{ name: 'p', projected: { sources: [{ secret: { name: 'agent-token' } }] } }] } } } }",
    },
    /`patch`: spec\.template\.spec\.volumes\[p\]\.projected\.sources\[0\]\.secret\.name is "agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's ServiceAccount",
    { "service-account-name": "buildkite-agent" },
    /option `service-account-name` \(from the step's plugin configuration\): spec\.template\.spec\.serviceAccountName is "buildkite-agent", which is refused: the agent's own ServiceAccount/,
  ],
  [
    "a host path outside the allowed prefixes",
    { "mount-hostpath": "/etc:/host-etc" },
    /option `mount-hostpath` \(from the step's plugin configuration\): spec\.template\.spec\.volumes\[hostpath-0\]\.hostPath\.path is "\/etc", which is refused: allowedHostPaths: \/var\/cache\/ci/,
  ],
  [
    "privileged",
    { privileged: true },
    /option `privileged` \(from the step's plugin configuration\): spec\.template\.spec\.containers\[step\]\.securityContext\.privileged is "true", which is refused: allowPrivileged: false/,
  ],
  [
    "privileged by pod-spec-patch",
    { "pod-spec-patch": { containers: [{ name: "step", securityContext: { privileged: true } }] } },
    /`pod-spec-patch`: spec\.template\.spec\.containers\[step\]\.securityContext\.privileged is "true", which is refused: allowPrivileged: false/,
  ],
  [
    "an image from a registry not allowed",
    { image: "registry.evil.test/miner:1" },
    /option `image` \(from the step's plugin configuration\): spec\.template\.spec\.containers\[step\]\.image is "registry\.evil\.test\/miner:1", which is refused: allowedRegistries: docker\.io \(its registry is registry\.evil\.test\)/,
  ],
];

Deno.test("a step asking for the agent's credentials or what the policy forbids is refused with 78, nothing created; an allowed step runs", async (t) => {
  await using namespace = await freshNamespace();
  await testCluster().api.post(`/api/v1/namespaces/${namespace.name}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: AGENT_TOKEN },
    stringData: { token: "registration-token" },
  });
  const env = {
    BUILDKITE_KUBERNETES_PLUGIN_POLICY: POLICY,
    BUILDKITE_KUBERNETES_PLUGIN_AGENT_SERVICE_ACCOUNT: `${namespace.name}/buildkite-agent`,
    BUILDKITE_KUBERNETES_PLUGIN_AGENT_SECRETS: AGENT_TOKEN,
    // A secret variable: without the refusal, the step would create its Secret first.
    BUILDKITE_AGENT_ACCESS_TOKEN: "job-token",
  };
  for (const [what, plugin, expected] of cases) {
    await t.step(what, async () => {
      const result = await runStep({
        namespace: namespace.name,
        plugin: { image: "alpine:3", "init-image": "", ...plugin },
        command: "true",
        env,
      });
      assert.equal(result.status, 78, result.stdout + result.stderr);
      assert.match(
        result.stderr,
        /kubernetes plugin: the operator's policy \(BUILDKITE_KUBERNETES_PLUGIN_POLICY\) refuses this step; nothing was created:/,
      );
      assert.match(result.stderr, expected);
      assert.deepEqual(await objectNames(namespace.name, "jobs"), [], "no Job");
      assert.deepEqual(await objectNames(namespace.name, "pods"), [], "no pod");
      assert.deepEqual(
        (await objectNames(namespace.name, "secrets")).filter((name) =>
          !name.startsWith("default-token")
        ),
        [AGENT_TOKEN],
        "no Secret but the agent's",
      );
    });
  }
  await t.step("an allowed step runs", async () => {
    const result = await runStep({
      namespace: namespace.name,
      plugin: { image: "alpine:3", "init-image": "", "mount-hostpath": "/var/cache/ci/go:/go" },
      command: "echo allowed",
      env,
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^allowed$/m);
  });
});
