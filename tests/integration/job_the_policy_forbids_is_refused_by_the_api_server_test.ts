/**
 * The operator's policy, enforced by the API server: the agent chart's admission policy
 * refuses a Job the policy forbids (the agent's token Secret by envFrom, env, volume or
 * projected volume, the agent's ServiceAccount, a Secret, ServiceAccount, host path, registry,
 * capability or namespace not allowed, privileged, a host namespace) when it is submitted
 * directly with the agent's ServiceAccount credentials, not through the plugin, with the
 * rule in the server's message; an allowed Job is accepted; the plugin, with no policy of
 * its own, reports the server's refusal with 90; and an allowed step runs end to end.
 */
import assert from "node:assert/strict";
import { isApiError } from "../cluster/api_client.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { type AgentIdentity, installAgentIdentity, RELEASE } from "./agent_identity.ts";
import { objectNames } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const TOKEN_SECRET = `${RELEASE}-agent-token`;

function policy(namespace: string): string[] {
  return [
    `policy.allowedNamespaces={${namespace}}`,
    `policy.allowedServiceAccounts={default,${RELEASE}}`,
    `policy.allowedSecrets={ci-*,${RELEASE}-*}`,
    "policy.allowedHostPaths={/var/cache/ci}",
    "policy.allowedRegistries={docker.io}",
    "policy.allowedCapabilities={NET_BIND_SERVICE}",
    "policy.allowPrivileged=false",
    "policy.allowHostNamespaces=false",
  ];
}

// deno-lint-ignore no-explicit-any
type PodSpec = Record<string, any>;

function job(name: string, spec: PodSpec = {}, container: PodSpec = {}) {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name },
    spec: {
      suspend: true,
      template: {
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "step", image: "alpine:3", command: ["true"], ...container }],
          ...spec,
        },
      },
    },
  };
}

/** What `body` gets from the API server, created in `namespace` as the agent. */
async function createdAsAgent(
  agent: AgentIdentity,
  path: string,
  body: unknown,
  query: Record<string, string> = {},
): Promise<string> {
  try {
    await agent.api.request("POST", path, { body, query });
    return "created";
  } catch (error) {
    if (isApiError(error, 403) || isApiError(error, 422)) return error.message;
    throw error;
  }
}

/** Waits until the admission policy is in force: a privileged Job, dry run, is refused. */
async function policyInForce(agent: AgentIdentity, namespace: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const probe = job("probe", {}, { securityContext: { privileged: true } });
  while (Date.now() < deadline) {
    const answer = await createdAsAgent(
      agent,
      `/apis/batch/v1/namespaces/${namespace}/jobs`,
      probe,
      { dryRun: "All" },
    );
    if (answer.includes("allowPrivileged: false")) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.fail("the admission policy was not in force within 30 s");
}

const refusals: [string, PodSpec, PodSpec, RegExp][] = [
  [
    "the agent's token Secret by envFrom",
    {},
    { envFrom: [{ secretRef: { name: TOKEN_SECRET } }] },
    /spec\.template\.spec uses Secret "agent-agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's token Secret by env secretKeyRef",
    {},
    { env: [{ name: "T", valueFrom: { secretKeyRef: { name: TOKEN_SECRET, key: "token" } } }] },
    /uses Secret "agent-agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's token Secret as a volume",
    { volumes: [{ name: "t", secret: { secretName: TOKEN_SECRET } }] },
    {},
    /uses Secret "agent-agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "the agent's token Secret in a projected volume",
    { volumes: [{ name: "p", projected: { sources: [{ secret: { name: TOKEN_SECRET } }] } }] },
    {},
    /uses Secret "agent-agent-token", which is refused: the agent's own Secret/,
  ],
  [
    "a Secret not allowed, as an image pull secret",
    { imagePullSecrets: [{ name: "registry-login" }] },
    {},
    /uses Secret "registry-login", which is refused: allowedSecrets: ci-\*, agent-\*/,
  ],
  [
    "the agent's ServiceAccount",
    { serviceAccountName: RELEASE },
    {},
    /spec\.template\.spec\.serviceAccountName is "agent", which is refused: the agent's own ServiceAccount/,
  ],
  [
    "a ServiceAccount not allowed",
    { serviceAccountName: "builder" },
    {},
    /serviceAccountName is "builder", which is refused: allowedServiceAccounts: default, agent/,
  ],
  [
    "a host path outside the allowed prefixes",
    { volumes: [{ name: "etc", hostPath: { path: "/etc" } }] },
    {},
    /volumes: hostPath etc is "\/etc", which is refused: allowedHostPaths: \/var\/cache\/ci/,
  ],
  [
    "a host path next to an allowed one",
    { volumes: [{ name: "near", hostPath: { path: "/var/cache/cix" } }] },
    {},
    /hostPath near is "\/var\/cache\/cix", which is refused: allowedHostPaths/,
  ],
  [
    "privileged",
    {},
    { securityContext: { privileged: true } },
    /container step has securityContext\.privileged true, which is refused: allowPrivileged: false/,
  ],
  [
    "the host's PID namespace",
    { hostPID: true },
    {},
    /spec\.template\.spec\.hostPID is true, which is refused: allowHostNamespaces: false/,
  ],
  [
    "an added capability not allowed",
    {},
    { securityContext: { capabilities: { add: ["NET_BIND_SERVICE", "SYS_ADMIN"] } } },
    /step adds SYS_ADMIN, which is refused: allowedCapabilities: NET_BIND_SERVICE/,
  ],
  [
    "an image from a registry not allowed",
    {},
    { image: "registry.evil.test/miner:1" },
    /image "registry\.evil\.test\/miner:1" \(its registry is registry\.evil\.test\), which is refused: allowedRegistries: docker\.io/,
  ],
];

Deno.test("a Job the policy forbids, submitted with the agent's credentials but not by the plugin, is refused by the API server; an allowed one is accepted", async (t) => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  await using elsewhere = await freshNamespace();
  await using agent = await installAgentIdentity(cluster, namespace.name, {
    set: [...policy(namespace.name), `rbac.namespaces={${elsewhere.name}}`],
  });
  await policyInForce(agent, namespace.name);
  const jobs = `/apis/batch/v1/namespaces/${namespace.name}/jobs`;
  const denied = new RegExp(
    `ValidatingAdmissionPolicy 'steps\\.${namespace.name}\\.agent' with binding 'steps\\.${namespace.name}\\.agent' denied request: `,
  );
  for (const [what, spec, container, expected] of refusals) {
    await t.step(what, async () => {
      const answer = await createdAsAgent(agent, jobs, job("forbidden", spec, container));
      assert.match(answer, denied);
      assert.match(answer, expected);
    });
  }
  await t.step("a namespace not allowed, where the agent's Role lets it create Jobs", async () => {
    const answer = await createdAsAgent(
      agent,
      `/apis/batch/v1/namespaces/${elsewhere.name}/jobs`,
      job("forbidden"),
    );
    assert.match(
      answer,
      new RegExp(
        `metadata\\.namespace is "${elsewhere.name}", which is refused: allowedNamespaces: ${namespace.name}`,
      ),
    );
  });
  await t.step("a ServiceAccount token Secret, which would hold any account's token", async () => {
    const answer = await createdAsAgent(agent, `/api/v1/namespaces/${namespace.name}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "ci-token",
        annotations: { "kubernetes.io/service-account.name": "default" },
      },
      type: "kubernetes.io/service-account-token",
    });
    assert.match(
      answer,
      /type is "kubernetes\.io\/service-account-token", which is refused: the agent creates only Opaque Secrets/,
    );
  });
  assert.deepEqual(await objectNames(namespace.name, "jobs"), [], "no Job was created");
  assert.deepEqual(await objectNames(elsewhere.name, "jobs"), []);

  await t.step("an allowed Job and its Secret are accepted", async () => {
    const allowed = job("allowed", {
      serviceAccountName: "default",
      imagePullSecrets: [{ name: "ci-registry" }],
      volumes: [
        { name: "cache", hostPath: { path: "/var/cache/ci/npm" } },
        { name: "own", secret: { secretName: "allowed" } },
      ],
    }, {
      envFrom: [{ secretRef: { name: "ci-env" } }],
      securityContext: { capabilities: { add: ["NET_BIND_SERVICE"] } },
    });
    assert.equal(await createdAsAgent(agent, jobs, allowed), "created");
    assert.equal(
      await createdAsAgent(agent, `/api/v1/namespaces/${namespace.name}/secrets`, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "allowed" },
        type: "Opaque",
        stringData: { A: "b" },
      }),
      "created",
    );
  });
});

Deno.test("the plugin without a policy of its own, as the agent, gets the API server's refusal: 90 with its message, nothing left", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  await using agent = await installAgentIdentity(cluster, namespace.name, {
    set: policy(namespace.name),
  });
  await policyInForce(agent, namespace.name);
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: agent.kubeconfigPath,
    plugin: { image: "alpine:3", "init-image": "", privileged: true },
    command: "true",
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "a-job-token" },
  });
  assert.equal(result.status, 90, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `creating Job scenario-1-[0-9a-f]{10} failed \\(403 Forbidden\\): .*ValidatingAdmissionPolicy 'steps\\.${namespace.name}\\.agent' with binding '[^']+' denied request: spec\\.template\\.spec: container step has securityContext\\.privileged true, which is refused: allowPrivileged: false`,
    ),
  );
  assert.deepEqual(await objectNames(namespace.name, "jobs"), []);
  assert.deepEqual(
    (await objectNames(namespace.name, "secrets")).filter((name) => name.startsWith("scenario")),
    [],
  );
});

Deno.test("with the admission policy in force, an allowed step runs end to end as the agent", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  await using agent = await installAgentIdentity(cluster, namespace.name, {
    set: policy(namespace.name),
  });
  await policyInForce(agent, namespace.name);
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: agent.kubeconfigPath,
    plugin: { image: "alpine:3", "init-image": "" },
    command: "echo from the pod\nexit 3",
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "a-job-token" },
  });
  assert.equal(result.status, 3, result.stdout + result.stderr);
  assert.match(result.stdout, /from the pod\n/);
});
