/**
 * The operator's policy over the final Job, one row per rule: what a step asks for, the
 * policy, and the refusal the build log shows (or none).
 */
import assert from "node:assert/strict";
import { renderStep } from "../../../src/render/mod.ts";
import { UserError } from "../../../src/exit_status.ts";
import { imageRegistry, matchesPattern } from "../../../src/policy/rules.ts";
import { configFor } from "../helpers.ts";

const STRICT = JSON.stringify({
  allowedNamespaces: ["ci-steps"],
  allowedServiceAccounts: ["default", "builder-*"],
  allowedSecrets: ["ci-*"],
  allowedHostPaths: ["/var/cache/ci"],
  allowedRegistries: ["docker.io", "quay.io", "*.example.com"],
  allowedCapabilities: ["NET_BIND_SERVICE"],
  allowPrivileged: false,
  allowHostNamespaces: false,
});
const AGENT = {
  BUILDKITE_KUBERNETES_PLUGIN_AGENT_SERVICE_ACCOUNT: "ci/buildkite-agent",
  BUILDKITE_KUBERNETES_PLUGIN_AGENT_SECRETS: "agent-token,agent-ssh",
};
const POD = "spec.template.spec";

type Row = [
  string,
  Record<string, unknown>,
  Record<string, string>,
  RegExp | undefined,
  { namespace?: string }?,
];

const rows: Row[] = [
  [
    "an allowed step renders",
    { "environment-from-secret": "ci-env" },
    {
      BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT,
    },
    undefined,
    { namespace: "ci-steps" },
  ],
  [
    "no policy and no agent identity: anything renders",
    {
      privileged: true,
      "mount-hostpath": "/etc:/host-etc",
    },
    {},
    undefined,
  ],
  [
    "a namespace not allowed names the option",
    { namespace: "kube-system" },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /option `namespace` \(from the step's plugin configuration\): metadata\.namespace is "kube-system", which is refused: allowedNamespaces: ci-steps/,
  ],
  [
    "the cluster access's namespace, when not allowed, is refused too",
    {},
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /the namespace of the cluster access: metadata\.namespace is "default"/,
    { namespace: "default" },
  ],
  [
    "the agent's token Secret by envFrom is refused without any policy",
    { namespace: "ci", "environment-from-secret": "agent-token" },
    AGENT,
    new RegExp(
      "^the agent refuses this step; nothing was created:\\n  - option `environment-from-secret` \\(from the step's plugin configuration\\): " +
        `${POD}\\.containers\\[step\\]\\.envFrom\\[0\\]\\.secretRef\\.name is "agent-token", which is refused: the agent's own Secret$`,
    ),
  ],
  [
    "the agent's Secret by env secretKeyRef (agent-token-secret-name)",
    { namespace: "ci", "agent-token-secret-name": "agent-token" },
    AGENT,
    /option `agent-token-secret-name` .*initContainers\[bootstrap\]\.env\[BUILDKITE_AGENT_TOKEN\]\.valueFrom\.secretKeyRef\.name is "agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's Secret as a volume (mount-secret)",
    { namespace: "ci", "mount-secret": "agent-ssh:/ssh" },
    AGENT,
    /option `mount-secret` .*volumes\[secret-0\]\.secret\.secretName is "agent-ssh".*the agent's own Secret/,
  ],
  [
    "the agent's Secret in a projected volume added by pod-spec-patch",
    {
      namespace: "ci",
      "pod-spec-patch": {
        volumes: [{ name: "p", projected: { sources: [{ secret: { name: "agent-token" } }] } }],
      },
    },
    AGENT,
    /`pod-spec-patch`: spec\.template\.spec\.volumes\[p\]\.projected\.sources\[0\]\.secret\.name is "agent-token".*the agent's own Secret/,
  ],
  [
    "the agent's Secret as an image pull secret",
    { namespace: "ci", "image-pull-secrets": ["agent-token"] },
    AGENT,
    /option `image-pull-secrets` .*imagePullSecrets\[0\]\.name is "agent-token"/,
  ],
  [
    "the agent's Secrets are anyone's in another namespace",
    { namespace: "steps", "environment-from-secret": "agent-token" },
    AGENT,
    undefined,
  ],
  [
    "the agent's own ServiceAccount is refused without any policy",
    { namespace: "ci", "service-account-name": "buildkite-agent" },
    AGENT,
    /option `service-account-name` .*serviceAccountName is "buildkite-agent", which is refused: the agent's own ServiceAccount/,
  ],
  [
    "the agent's ServiceAccount by the deprecated serviceAccount field of a jsonnet patch",
    {
      namespace: "ci",
      patch:
        "function(job) job + { spec+: { template+: { spec+: { serviceAccountName: null, serviceAccount: 'buildkite-agent' } } } }",
    },
    AGENT,
    /`patch`: spec\.template\.spec\.serviceAccount is "buildkite-agent".*the agent's own ServiceAccount/,
  ],
  [
    "a ServiceAccount not allowed",
    { namespace: "ci-steps", "service-account-name": "deployer" },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /serviceAccountName is "deployer", which is refused: allowedServiceAccounts: default, builder-\*/,
  ],
  [
    "a Secret not allowed",
    { namespace: "ci-steps", "default-secret-name": "prod-db" },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /option `default-secret-name` .*is "prod-db", which is refused: allowedSecrets: ci-\*/,
  ],
  [
    "the step's own Secret is always allowed",
    { namespace: "ci-steps" },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT, BUILDKITE_AGENT_ACCESS_TOKEN: "t" },
    undefined,
  ],
  [
    "a host path outside the allowed prefixes",
    { namespace: "ci-steps", "mount-hostpath": ["/var/cache/ci/go:/go", "/var/cache/cia:/x"] },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /^[^\n]*\n {2}- option `mount-hostpath` .*volumes\[hostpath-1\]\.hostPath\.path is "\/var\/cache\/cia", which is refused: allowedHostPaths: \/var\/cache\/ci$/,
  ],
  [
    "a host path that climbs out of an allowed one",
    { namespace: "ci-steps", "mount-hostpath": "/var/cache/ci/../../../etc:/x" },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /hostPath\.path is "\/var\/cache\/ci\/\.\.\/\.\.\/\.\.\/etc", which is refused/,
  ],
  [
    "privileged",
    { namespace: "ci-steps", privileged: true },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /option `privileged` .*containers\[step\]\.securityContext\.privileged is "true", which is refused: allowPrivileged: false/,
  ],
  [
    "privileged added to the checkout by pod-spec-patch",
    {
      namespace: "ci-steps",
      "pod-spec-patch": {
        initContainers: [{ name: "bootstrap", securityContext: { privileged: true } }],
      },
    },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /`pod-spec-patch`: .*initContainers\[bootstrap\]\.securityContext\.privileged is "true"/,
  ],
  [
    "hostPID by a jsonnet patch",
    {
      namespace: "ci-steps",
      patch: "function(job) job + { spec+: { template+: { spec+: { hostPID: true } } } }",
    },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /`patch`: spec\.template\.spec\.hostPID is "true", which is refused: allowHostNamespaces: false/,
  ],
  [
    "an added capability not allowed",
    {
      namespace: "ci-steps",
      "pod-spec-patch": {
        containers: [{
          name: "step",
          securityContext: { capabilities: { add: ["NET_BIND_SERVICE", "SYS_ADMIN"] } },
        }],
      },
    },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /^[^\n]*\n {2}- `pod-spec-patch`: .*capabilities\.add is "SYS_ADMIN", which is refused: allowedCapabilities: NET_BIND_SERVICE$/,
  ],
  [
    "an image from a registry not allowed",
    { namespace: "ci-steps", image: "evil.test:5000/miner:1" },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /option `image` .*containers\[step\]\.image is "evil\.test:5000\/miner:1", which is refused: allowedRegistries: docker\.io, quay\.io, \*\.example\.com \(its registry is evil\.test:5000\)/,
  ],
  [
    "a sidecar's image from a registry not allowed names the sidecars option",
    {
      namespace: "ci-steps",
      sidecars: [{ name: "db", image: "evil.test:5000/postgres:16" }],
    },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /option `sidecars` .*initContainers\[db\]\.image is "evil\.test:5000\/postgres:16", which is refused: allowedRegistries/,
  ],
  [
    "a sidecar's Secret not allowed names the sidecars option",
    {
      namespace: "ci-steps",
      sidecars: [{
        name: "db",
        image: "docker.io/postgres:16",
        env: [{ name: "P", valueFrom: { secretKeyRef: { name: "prod-db", key: "password" } } }],
      }],
    },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    /option `sidecars` .*"prod-db", which is refused: allowedSecrets: ci-\*/,
  ],
  [
    "patches refused outright",
    { namespace: "ci-steps", "pod-spec-patch": { nodeSelector: { a: "b" } } },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: JSON.stringify({ allowPatches: false }) },
    /option `pod-spec-patch` \(from the step's plugin configuration\): patches are not allowed \(allowPatches: false\)/,
  ],
  [
    "a patch that removes what the options asked for is judged by the final Job",
    {
      namespace: "ci-steps",
      privileged: true,
      "pod-spec-patch": { containers: [{ name: "step", securityContext: null }] },
    },
    { BUILDKITE_KUBERNETES_PLUGIN_POLICY: STRICT },
    undefined,
  ],
];

for (const [what, plugin, env, expected, options] of rows) {
  Deno.test(`policy: ${what}`, async () => {
    const rendering = renderStep(configFor(plugin, env), options);
    if (!expected) {
      await rendering;
      return;
    }
    const error = await rendering.then(() => undefined, (error) => error);
    assert.ok(error instanceof UserError, `refused: ${error}`);
    assert.equal(error.exitStatus, 78);
    assert.match(error.message, expected);
  });
}

Deno.test("policy: image registries as the runtime resolves them", () => {
  const cases: [string, string][] = [
    ["alpine:3", "docker.io"],
    ["library/alpine", "docker.io"],
    ["quay.io/a/b:1", "quay.io"],
    ["localhost/x", "localhost"],
    ["registry:5000/x", "registry:5000"],
    ["ghcr.io/a/b@sha256:00", "ghcr.io"],
  ];
  for (const [image, registry] of cases) assert.equal(imageRegistry(image), registry, image);
});

Deno.test("policy: patterns match whole names, * any characters", () => {
  const cases: [string, string, boolean][] = [
    ["ci-env", "ci-*", true],
    ["ci", "ci-*", false],
    ["xci-env", "ci-*", false],
    ["a.b", "a.b", true],
    ["axb", "a.b", false],
    ["mirror.example.com", "*.example.com", true],
  ];
  for (const [value, pattern, matches] of cases) {
    assert.equal(matchesPattern(value, pattern), matches, `${value} ~ ${pattern}`);
  }
});
