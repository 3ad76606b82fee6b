/**
 * The Helm charts, linted and rendered by the pinned helm: the agent's Role grants exactly
 * what the program uses, each rule can be left out on its own, the plugin defaults reach the
 * agent as variables the program itself decodes, and buildscaler is wired as an aggregated
 * external metrics API.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { validateOptions } from "../../src/config/mod.ts";
import { policySchema, readPolicy } from "../../src/config/policy.ts";
import { matchesPattern } from "../../src/policy/rules.ts";
import { renderStep } from "../../src/render/mod.ts";
import { configFor } from "./helpers.ts";
import { decodeFlattened } from "../../src/config/sources.ts";
import { DEFAULT_INIT_IMAGE } from "../../src/version.ts";
import {
  binaryPath,
  fullValues,
  helm,
  helmTemplate,
  KUBERNETES_VERSION,
  REQUIRED_VALUES,
  run,
  type TemplateOptions,
} from "../helm.ts";

const NAMESPACE = "ci";
/** The default steps namespace of a release in NAMESPACE. */
const STEPS = "ci-steps";

/** A rendered Kubernetes object, loosely typed: the tests read the fields they check. */
// deno-lint-ignore no-explicit-any
type Manifest = Record<string, any>;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** What the program does with the API, by the name of its rule in values.yaml. */
const AGENT_RULES: Record<string, Rule> = {
  jobs: {
    apiGroups: ["batch"],
    resources: ["jobs"],
    verbs: ["create", "get", "list", "watch", "patch", "delete"],
  },
  pods: { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
  podLogs: { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
  events: { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
  secrets: { apiGroups: [""], resources: ["secrets"], verbs: ["create", "delete"] },
};

function render(chart: string, options: Omit<TemplateOptions, "namespace"> = {}): Manifest[] {
  const text = helmTemplate(chart, { namespace: NAMESPACE, ...options });
  return YAML.parseAllDocuments(text).map((doc) => doc.toJS()).filter(Boolean);
}

function only(manifests: Manifest[], kind: string, namespace?: string): Manifest {
  const found = manifests.filter((m) =>
    m.kind === kind && (namespace === undefined || m.metadata.namespace === namespace)
  );
  assert.equal(found.length, 1, `one ${kind}${namespace ? ` in ${namespace}` : ""}`);
  return found[0];
}

function sortRules(rules: Rule[]): Rule[] {
  return [...rules].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function container(manifests: Manifest[]): Manifest {
  return only(manifests, "Deployment").spec.template.spec.containers[0];
}

/** The container's plain `value` variables; valueFrom ones are checked separately. */
function plainEnv(manifests: Manifest[]): Record<string, string> {
  return Object.fromEntries(
    container(manifests).env.filter((e: Manifest) => "value" in e).map((
      e: Manifest,
    ) => [e.name, e.value]),
  );
}

function pluginDefaults(manifests: Manifest[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(plainEnv(manifests)).filter(([name]) =>
      name.startsWith("BUILDKITE_PLUGIN_KUBERNETES_")
    ),
  );
}

for (const chart of ["agent", "buildscaler"]) {
  for (const valuesFile of [undefined, fullValues(chart)]) {
    const label = valuesFile ? "every value set" : "default values";
    Deno.test(`${chart} chart: helm lint --strict passes with ${label}`, () => {
      const args = ["lint", "--strict", `charts/${chart}`, "--kube-version", KUBERNETES_VERSION];
      const required = REQUIRED_VALUES[chart].flatMap((value) => ["--set", value]);
      helm(valuesFile ? [...args, "--values", valuesFile] : [...args, ...required]);
    });

    Deno.test(`${chart} chart: renders with ${label}, every object named, labelled, namespaced`, () => {
      const manifests = render(chart, { valuesFile });
      assert.ok(manifests.length > 0);
      const clusterScoped = new Set([
        "ClusterRole",
        "ClusterRoleBinding",
        "APIService",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "Namespace",
      ]);
      for (const m of manifests) {
        assert.ok(m.apiVersion && m.kind && m.metadata?.name, JSON.stringify(m).slice(0, 200));
        assert.equal(m.metadata.labels["app.kubernetes.io/managed-by"], "Helm", m.metadata.name);
        if (clusterScoped.has(m.kind)) assert.equal(m.metadata.namespace, undefined, m.kind);
        else assert.ok(m.metadata.namespace, `${m.kind} ${m.metadata.name} has a namespace`);
      }
    });
  }
}

Deno.test("a value the schema does not know is refused, naming it", () => {
  for (const chart of ["agent", "buildscaler"]) {
    const result = run(binaryPath("helm"), [
      "template",
      `charts/${chart}`,
      "--kube-version",
      KUBERNETES_VERSION,
      ...REQUIRED_VALUES[chart].flatMap((value) => ["--set", value]),
      "--set",
      "agentToken.tokn=x",
    ]);
    assert.notEqual(result.status, 0, chart);
    assert.match(result.stderr, /tokn/, chart);
  }
});

/** What the agent itself does in its own namespace when steps run elsewhere. */
/** Both gitAuth Secrets, created by the chart. */
const GIT_AUTH = [
  "gitAuth.credentials.enabled=true",
  "gitAuth.credentials.value=https://ci:token@git.example.com",
  "gitAuth.ssh.enabled=true",
  "gitAuth.ssh.value=key",
];

const OWN_NAMESPACE_RULES: Rule[] = [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }];

Deno.test("agent Roles: the program's rules in the steps namespace, reading pods in its own, both bound to the agent's ServiceAccount", () => {
  const manifests = render("agent");
  const serviceAccount = only(manifests, "ServiceAccount");
  const expected: [string, Rule[]][] = [
    [STEPS, Object.values(AGENT_RULES)],
    [NAMESPACE, OWN_NAMESPACE_RULES],
  ];
  assert.equal(manifests.filter((m) => m.kind === "Role").length, expected.length);
  for (const [namespace, rules] of expected) {
    const role = only(manifests, "Role", namespace);
    assert.deepEqual(sortRules(role.rules), sortRules(rules), namespace);
    const binding = only(manifests, "RoleBinding", namespace);
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: role.metadata.name,
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: NAMESPACE },
    ]);
  }
  assert.equal(
    only(manifests, "Deployment").spec.template.spec.serviceAccountName,
    serviceAccount.metadata.name,
  );
  assert.equal(manifests.filter((m) => m.kind.startsWith("Cluster")).length, 0, "no cluster RBAC");
});

for (const name of Object.keys(AGENT_RULES)) {
  Deno.test(`agent Role: rbac.rules.${name}=null leaves out that rule and only it`, () => {
    const role = only(render("agent", { set: [`rbac.rules.${name}=null`] }), "Role", STEPS);
    const expected = Object.entries(AGENT_RULES).filter(([n]) => n !== name).map(([, r]) => r);
    assert.deepEqual(sortRules(role.rules), sortRules(expected));
  });
}

Deno.test("agent Role: rbac.agentNamespaceRules.ownPod=null leaves the release namespace no Role", () => {
  const manifests = render("agent", { set: ["rbac.agentNamespaceRules.ownPod=null"] });
  assert.deepEqual(manifests.filter((m) => m.kind === "Role").map((m) => m.metadata.namespace), [
    STEPS,
  ]);
});

Deno.test("agent Role: stepsNamespace.enabled=false puts the program's rules in the release namespace", () => {
  const manifests = render("agent", { set: ["stepsNamespace.enabled=false"] });
  const role = only(manifests, "Role");
  assert.equal(role.metadata.namespace, NAMESPACE);
  assert.deepEqual(sortRules(role.rules), sortRules(Object.values(AGENT_RULES)));
  assert.ok(!manifests.some((m) => m.kind === "Namespace"), "no steps namespace");
  assert.equal(pluginDefaults(manifests).BUILDKITE_PLUGIN_KUBERNETES_NAMESPACE, undefined);
});

Deno.test("agent Role: repeated in the steps namespace and each of rbac.namespaces, bound to the one ServiceAccount", () => {
  const manifests = render("agent", { valuesFile: fullValues("agent") });
  assert.deepEqual(
    sortRules(only(manifests, "Role", NAMESPACE).rules),
    sortRules(OWN_NAMESPACE_RULES),
  );
  for (const namespace of ["buildkite-steps", "buildkite-steps-gpu"]) {
    const role = only(manifests, "Role", namespace);
    assert.deepEqual(sortRules(role.rules), sortRules(Object.values(AGENT_RULES)));
    assert.deepEqual(only(manifests, "RoleBinding", namespace).subjects, [
      { kind: "ServiceAccount", name: "buildkite-agent", namespace: NAMESPACE },
    ]);
  }
});

Deno.test("agent: rbac.create=false renders no RBAC at all", () => {
  const kinds = render("agent", { set: ["rbac.create=false"] }).map((m) => m.kind);
  assert.ok(!kinds.includes("Role") && !kinds.includes("RoleBinding"), kinds.join());
});

Deno.test("agent Deployment: starts the agent with its token, queue and own pod's name and namespace", () => {
  const manifests = render("agent", { set: ["agentToken.value=registration-token"] });
  const agent = container(manifests);
  assert.equal(agent.image, DEFAULT_INIT_IMAGE, "the agent's image is the steps' init image");
  assert.deepEqual(agent.args, ["start"]);
  const env = Object.fromEntries(agent.env.map((e: Manifest) => [e.name, e]));
  assert.deepEqual(env.POD_NAME.valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
  assert.deepEqual(env.POD_NAMESPACE.valueFrom, { fieldRef: { fieldPath: "metadata.namespace" } });
  assert.equal(env.BUILDKITE_AGENT_TAGS.value, "queue=default");
  const tokenRef = env.BUILDKITE_AGENT_TOKEN.valueFrom.secretKeyRef;
  const secret = only(manifests, "Secret");
  assert.equal(tokenRef.name, secret.metadata.name);
  assert.equal(atob(secret.data[tokenRef.key]), "registration-token");
  assert.deepEqual(
    pluginDefaults(manifests),
    { BUILDKITE_PLUGIN_KUBERNETES_NAMESPACE: STEPS },
    "no plugin defaults but the steps namespace unless asked for",
  );
  assert.ok(
    !agent.volumeMounts.some((m: Manifest) => m.mountPath === "/secrets"),
    "nothing mounted at /secrets without gitAuth",
  );
});

Deno.test("agent Deployment: existing Secrets are referenced, not created", () => {
  const manifests = render("agent", { valuesFile: fullValues("agent") });
  const env = Object.fromEntries(container(manifests).env.map((e: Manifest) => [e.name, e]));
  assert.deepEqual(env.BUILDKITE_AGENT_TOKEN.valueFrom.secretKeyRef, {
    name: "buildkite-secrets",
    key: "agent-token",
  });
  const created = manifests.filter((m) => m.kind === "Secret").map((m) =>
    `${m.metadata.namespace}/${m.metadata.name}`
  );
  assert.deepEqual(created, [
    "ci/buildkite-agents-git-credentials",
    "buildkite-steps/buildkite-agents-git-credentials",
    "buildkite-steps-gpu/buildkite-agents-git-credentials",
  ]);
  const projected = only(manifests, "Deployment").spec.template.spec.volumes
    .find((v: Manifest) => v.name === "git-auth").projected;
  assert.deepEqual(projected.sources, [
    {
      secret: {
        name: "buildkite-agents-git-credentials",
        items: [{ key: "git-credentials", path: "git-credentials" }],
      },
    },
    { secret: { name: "buildkite-secrets", items: [{ key: "ssh-key", path: "ssh-key" }] } },
  ]);
  assert.deepEqual(container(manifests).volumeMounts.find((m: Manifest) => m.name === "git-auth"), {
    name: "git-auth",
    mountPath: "/secrets",
    readOnly: true,
  });
});

Deno.test("agent plugin defaults: each option becomes the variable the agent would set", () => {
  const cases: { set: string[]; expected: Record<string, string> }[] = [
    {
      set: ["pluginDefaults.service-account-name=builder"],
      expected: { BUILDKITE_PLUGIN_KUBERNETES_SERVICE_ACCOUNT_NAME: "builder" },
    },
    {
      set: ["pluginDefaults.use-agent-node-affinity=true", "pluginDefaults.pending-timeout=900"],
      expected: {
        BUILDKITE_PLUGIN_KUBERNETES_USE_AGENT_NODE_AFFINITY: "true",
        BUILDKITE_PLUGIN_KUBERNETES_PENDING_TIMEOUT: "900",
      },
    },
    {
      set: ["pluginDefaults.image-pull-secrets={a,b}"],
      expected: {
        BUILDKITE_PLUGIN_KUBERNETES_IMAGE_PULL_SECRETS_0: "a",
        BUILDKITE_PLUGIN_KUBERNETES_IMAGE_PULL_SECRETS_1: "b",
      },
    },
    {
      set: ["pluginDefaults.pod-spec-patch.priorityClassName=ci"],
      expected: { BUILDKITE_PLUGIN_KUBERNETES_POD_SPEC_PATCH: '{"priorityClassName":"ci"}' },
    },
    {
      set: [...GIT_AUTH],
      expected: {
        BUILDKITE_PLUGIN_KUBERNETES_GIT_CREDENTIALS_SECRET_NAME: "release-agent-git-credentials",
        BUILDKITE_PLUGIN_KUBERNETES_GIT_CREDENTIALS_SECRET_KEY: "git-credentials",
        BUILDKITE_PLUGIN_KUBERNETES_GIT_SSH_SECRET_NAME: "release-agent-git-ssh",
        BUILDKITE_PLUGIN_KUBERNETES_GIT_SSH_SECRET_KEY: "ssh-key",
      },
    },
    {
      set: [
        "gitAuth.ssh.enabled=true",
        "gitAuth.ssh.value=key",
        "pluginDefaults.git-ssh-secret-name=team-key",
      ],
      expected: {
        BUILDKITE_PLUGIN_KUBERNETES_GIT_SSH_SECRET_NAME: "team-key",
        BUILDKITE_PLUGIN_KUBERNETES_GIT_SSH_SECRET_KEY: "ssh-key",
      },
    },
    {
      set: ["agentToken.shareWithSteps=true"],
      expected: {
        BUILDKITE_PLUGIN_KUBERNETES_AGENT_TOKEN_SECRET_NAME: "release-agent-agent-token",
        BUILDKITE_PLUGIN_KUBERNETES_AGENT_TOKEN_SECRET_KEY: "buildkite-agent-token",
      },
    },
  ];
  for (const { set, expected } of cases) {
    const single = [...set, "stepsNamespace.enabled=false"];
    assert.deepEqual(pluginDefaults(render("agent", { set: single })), expected, single.join(" "));
  }
  assert.deepEqual(
    pluginDefaults(render("agent", { set: ["pluginDefaults.namespace=builds"] })),
    { BUILDKITE_PLUGIN_KUBERNETES_NAMESPACE: "builds" },
    "pluginDefaults.namespace overrides the steps namespace",
  );
});

Deno.test("agent plugin defaults: the program decodes them into valid options", () => {
  const env = pluginDefaults(render("agent", { valuesFile: fullValues("agent") }));
  const decoded = decodeFlattened(env);
  assert.deepEqual(decoded.values, {
    "namespace": "buildkite-steps",
    "default-secret-name": "buildkite-secrets",
    "git-credentials-secret-key": "git-credentials",
    "git-credentials-secret-name": "buildkite-agents-git-credentials",
    "git-ssh-secret-key": "ssh-key",
    "git-ssh-secret-name": "buildkite-secrets",
    "image-pull-secrets": ["registry-credentials", "mirror-credentials"],
    "pending-timeout": 900,
    "pod-spec-patch": { priorityClassName: "ci" },
    "service-account-name": "builder",
    "use-agent-node-affinity": true,
  });
  assert.deepEqual(decoded.warnings, []);
  // `image` is the one option a step must always give itself.
  validateOptions({ ...decoded.values, image: "alpine:3.22" });
});

Deno.test("agent HPA: off by default; on, it scales the Deployment on the queue's busy agents", () => {
  assert.ok(!render("agent").some((m) => m.kind === "HorizontalPodAutoscaler"));
  const manifests = render("agent", { valuesFile: fullValues("agent") });
  const hpa = only(manifests, "HorizontalPodAutoscaler");
  assert.equal(hpa.apiVersion, "autoscaling/v2");
  assert.deepEqual(hpa.spec.scaleTargetRef, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: only(manifests, "Deployment").metadata.name,
  });
  assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [2, 20]);
  assert.deepEqual(hpa.spec.metrics, [{
    type: "External",
    external: {
      metric: {
        name: "buildkite_busy_agent_percentage",
        selector: { matchLabels: { queue: "kubernetes" } },
      },
      target: { type: "Value", value: 70 },
    },
  }]);
  assert.equal(only(manifests, "Deployment").spec.replicas, undefined, "the HPA owns replicas");
});

Deno.test("buildscaler: an aggregated external metrics API with delegated auth", () => {
  const manifests = render("buildscaler", { set: ["agentToken.value=registration-token"] });
  const serviceAccount = only(manifests, "ServiceAccount").metadata.name;
  const subject = { kind: "ServiceAccount", name: serviceAccount, namespace: NAMESPACE };

  const apiService = only(manifests, "APIService");
  const service = only(manifests, "Service");
  assert.equal(apiService.metadata.name, "v1beta1.external.metrics.k8s.io");
  assert.deepEqual(apiService.spec, {
    group: "external.metrics.k8s.io",
    version: "v1beta1",
    service: { name: service.metadata.name, namespace: NAMESPACE, port: 443 },
    insecureSkipTLSVerify: true,
    groupPriorityMinimum: 100,
    versionPriority: 100,
  });

  const bindings = manifests.filter((m) => m.kind === "ClusterRoleBinding");
  const delegator = bindings.find((b) => b.roleRef.name === "system:auth-delegator");
  assert.deepEqual(delegator?.subjects, [subject]);
  const reader = only(manifests, "RoleBinding", "kube-system");
  assert.deepEqual(reader.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "Role",
    name: "extension-apiserver-authentication-reader",
  });
  assert.deepEqual(reader.subjects, [subject], "the subject names its namespace");

  const metricsRole = only(manifests, "ClusterRole");
  assert.deepEqual(metricsRole.rules, [
    { apiGroups: ["external.metrics.k8s.io"], resources: ["*"], verbs: ["get", "list"] },
  ]);
  const metricsBinding = bindings.find((b) => b.roleRef.name === metricsRole.metadata.name);
  assert.deepEqual(metricsBinding?.subjects, [
    { kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" },
  ]);

  const deployment = only(manifests, "Deployment");
  const pod = deployment.spec.template.spec;
  assert.equal(pod.serviceAccountName, serviceAccount);
  assert.equal(pod.containers[0].image, "elotl/buildscaler:v2.2.0");
  assert.deepEqual(pod.containers[0].ports, [{ name: "https", containerPort: 6443 }]);
  assert.equal(service.spec.ports[0].targetPort, "https");
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  const tokenRef = pod.containers[0].env[0].valueFrom.secretKeyRef;
  const secret = only(manifests, "Secret");
  assert.equal(tokenRef.name, secret.metadata.name);
  assert.equal(atob(secret.data[tokenRef.key]), "registration-token");
});

Deno.test("buildscaler: every value reaches the Deployment, APIService and RBAC", () => {
  const manifests = render("buildscaler", { valuesFile: fullValues("buildscaler") });
  const pod = only(manifests, "Deployment").spec.template.spec;
  const [scaler] = pod.containers;
  assert.deepEqual(scaler.args, [
    "--ci-platform=buildkite",
    "--secure-port=6443",
    "--cert-dir=/tmp/certificates",
    "--scrape-period=1m30s",
    "--logtostderr=true",
    "--v=6",
    "--tls-min-version=VersionTLS12",
  ]);
  const env = Object.fromEntries(scaler.env.map((e: Manifest) => [e.name, e]));
  assert.equal(env.BUILDKITE_QUEUES.value, "kubernetes,default");
  assert.deepEqual(env.BUILDKITE_AGENT_TOKEN.valueFrom.secretKeyRef, {
    name: "buildkite-secrets",
    key: "agent-token",
  });
  assert.ok(!manifests.some((m) => m.kind === "Secret"), "an existing Secret is not created");
  assert.equal(only(manifests, "APIService").spec.service.port, 8443);
  const binding = manifests.find((m) =>
    m.kind === "ClusterRoleBinding" && m.roleRef.name.endsWith("-external-metrics-reader")
  );
  assert.deepEqual(binding?.subjects, [
    { kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" },
    { kind: "Group", name: "ci-operators", apiGroup: "rbac.authorization.k8s.io" },
  ]);
  const kinds = render("buildscaler", { set: ["apiService.create=false", "rbac.create=false"] })
    .map((m) => m.kind).sort();
  assert.deepEqual(kinds, ["Deployment", "Secret", "Service", "ServiceAccount"]);
});

Deno.test("chart packages leave the test values out", () => {
  for (const chart of ["agent", "buildscaler"]) {
    const dir = Deno.makeTempDirSync();
    try {
      helm(["package", `charts/${chart}`, "--destination", dir]);
      const [archive] = [...Deno.readDirSync(dir)].map((entry) => join(dir, entry.name));
      const files = execFileSync("tar", ["-tzf", archive], { encoding: "utf8" }).split("\n");
      assert.ok(files.includes(`${chart}/values.schema.json`), chart);
      assert.ok(!files.some((file) => file.includes("/ci/")), files.join(" "));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

/** The variables the agent's container gets, by name, plain values only. */
function agentVariables(manifests: Manifest[]): Record<string, string> {
  return { ...plainEnv(manifests), POD_NAMESPACE: NAMESPACE };
}

Deno.test("agent policy: values.schema.json's policy is the program's policy schema", () => {
  const chartSchema = JSON.parse(
    Deno.readTextFileSync(new URL("../../charts/agent/values.schema.json", import.meta.url)),
  );
  const programs = z.toJSONSchema(policySchema, { io: "input", target: "draft-07" });
  delete programs.$schema;
  assert.deepEqual(chartSchema.properties.policy, programs);
});

Deno.test("agent policy: reaches the agent as the variable the program reads, not a plugin default", () => {
  const manifests = render("agent", { valuesFile: fullValues("agent") });
  const values = YAML.parse(Deno.readTextFileSync(fullValues("agent")));
  const policy = readPolicy(agentVariables(manifests), { serviceAccountDir: "/nonexistent" });
  assert.equal(policy.set, true);
  assert.deepEqual(policy.rules, values.policy);
  assert.deepEqual(policy.agent, {
    namespace: NAMESPACE,
    serviceAccount: "buildkite-agent",
    secrets: [],
  });
  assert.equal(plainEnv(render("agent")).BUILDKITE_KUBERNETES_PLUGIN_POLICY, undefined);
});

Deno.test("agent policy: the agent's own Secrets are those the plugin defaults do not hand to steps", () => {
  const cases: [string[], string | undefined][] = [
    [[], "release-agent-agent-token"],
    [["agentToken.shareWithSteps=true", "stepsNamespace.enabled=false"], undefined],
    [[...GIT_AUTH], "release-agent-agent-token"],
    [
      [
        "gitAuth.ssh.enabled=true",
        "gitAuth.ssh.value=key",
        "pluginDefaults.git-ssh-secret-name=team-key",
      ],
      "release-agent-agent-token,release-agent-git-ssh",
    ],
    [
      ["agentToken.existingSecretName=shared", "pluginDefaults.default-secret-name=shared"],
      undefined,
    ],
  ];
  for (const [set, expected] of cases) {
    assert.equal(
      plainEnv(render("agent", { set })).BUILDKITE_KUBERNETES_PLUGIN_AGENT_SECRETS,
      expected,
      set.join(" "),
    );
  }
});

Deno.test("agent policy: a step asking for the chart's ServiceAccount or token Secret is refused", async () => {
  const env = agentVariables(render("agent"));
  const refusals: [Record<string, unknown>, RegExp][] = [
    [
      { "service-account-name": "release-agent" },
      /"release-agent", which is refused: the agent's own ServiceAccount/,
    ],
    [
      { "environment-from-secret": "release-agent-agent-token" },
      /"release-agent-agent-token", which is refused: the agent's own Secret/,
    ],
  ];
  for (const [plugin, expected] of refusals) {
    await assert.rejects(
      renderStep(configFor({ namespace: NAMESPACE, ...plugin }, env)),
      expected,
    );
  }
});

/** The admission policy over the steps' Jobs and pods and its binding, by their kind. */
function admission(manifests: Manifest[], kind: "steps" | "secrets") {
  const named = (m: Manifest) => m.metadata.name.startsWith(`${kind}.${NAMESPACE}.`);
  const policies = manifests.filter((m) => m.kind === "ValidatingAdmissionPolicy" && named(m));
  const bindings = manifests.filter((m) =>
    m.kind === "ValidatingAdmissionPolicyBinding" && named(m)
  );
  assert.equal(policies.length, 1, `one ${kind} policy`);
  assert.equal(bindings.length, 1, `one ${kind} binding`);
  return { policy: policies[0], binding: bindings[0] };
}

/** The validations' expressions, each with its message's rule (after "which is refused: "). */
function checks(policy: Manifest): Record<string, string> {
  return Object.fromEntries(
    policy.spec.validations.map((v: Manifest) => [
      v.messageExpression.match(/which is refused: (?:' \+ ")?(.*)["']$/)![1].replaceAll(
        "\\'",
        "'",
      ),
      v.expression,
    ]),
  );
}

Deno.test("agent admission policy: matches what the agent's ServiceAccount creates or changes, and denies", () => {
  const manifests = render("agent", { valuesFile: fullValues("agent") });
  for (const kind of ["steps", "secrets"] as const) {
    const { policy, binding } = admission(manifests, kind);
    assert.equal(binding.spec.policyName, policy.metadata.name);
    assert.deepEqual(binding.spec.validationActions, ["Deny"]);
    assert.equal(binding.spec.matchResources, undefined, "every namespace");
    assert.equal(policy.spec.failurePolicy, "Fail");
    assert.deepEqual(policy.spec.matchConditions, [{
      name: "by-the-agents-service-account",
      expression:
        `request.userInfo.username == "system:serviceaccount:${NAMESPACE}:buildkite-agent"`,
    }]);
    const resources = policy.spec.matchConstraints.resourceRules.map((rule: Manifest) => {
      assert.deepEqual(rule.operations, ["CREATE", "UPDATE"]);
      return `${rule.apiGroups[0]}/${rule.resources[0]}`;
    });
    assert.deepEqual(resources, kind === "steps" ? ["batch/jobs", "/pods"] : ["/secrets"]);
  }
});

Deno.test("agent admission policy: each rule of the policy value is a CEL check", () => {
  const { policy } = admission(render("agent", { valuesFile: fullValues("agent") }), "steps");
  assert.deepEqual(checks(policy), {
    "allowedNamespaces: ci, buildkite-steps":
      `["^ci$","^buildkite-steps$"].exists(p, request.namespace.matches(p))`,
    "the agent's own ServiceAccount":
      `request.namespace != "ci" || !("buildkite-agent" in variables.serviceAccounts)`,
    "allowedServiceAccounts: default, builder":
      `variables.serviceAccounts.all(n, ["^default$","^builder$"].exists(p, n.matches(p)))`,
    "allowedSecrets: buildkite-*, *-credentials":
      `variables.secrets.all(l, l.all(n, n == object.metadata.name || ["^buildkite-.*$","^.*-credentials$"].exists(p, n.matches(p))))`,
    "allowedHostPaths: /var/cache/ci":
      `variables.volumes.all(v, !has(v.hostPath) || ["/var/cache/ci"].exists(p, v.hostPath.path == p || v.hostPath.path.startsWith(p + '/')))`,
    "allowedRegistries: quay.io, registry.example.com, docker.io":
      `variables.images.all(i, ["^quay\\\\.io$","^registry\\\\.example\\\\.com$","^docker\\\\.io$"].exists(p, (i.contains('/') && (i.split('/')[0].contains('.') || i.split('/')[0].contains(':') || i.split('/')[0] == 'localhost') ? i.split('/')[0] : 'docker.io').matches(p)))`,
    "allowPrivileged: false":
      "!variables.containers.exists(c, has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged)",
    "allowHostNamespaces: false":
      "!['hostNetwork', 'hostPID', 'hostIPC'].exists(f, f in variables.spec && variables.spec[f] == true)",
    "allowedCapabilities: NET_BIND_SERVICE":
      `variables.containers.all(c, (has(c.securityContext) && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.add) ? c.securityContext.capabilities.add : []).all(k, ((k.startsWith('CAP_') ? k.substring(4) : k) in ["NET_BIND_SERVICE"])))`,
  });
  const secrets = admission(render("agent", { valuesFile: fullValues("agent") }), "secrets");
  assert.deepEqual(Object.keys(checks(secrets.policy)), [
    "allowedNamespaces: ci, buildkite-steps",
    "the agent creates only Opaque Secrets",
  ]);
});

Deno.test("agent admission policy: without a policy, the agent's ServiceAccount and own Secrets are still refused", () => {
  const manifests = render("agent");
  assert.deepEqual(checks(admission(manifests, "steps").policy), {
    "the agent's own ServiceAccount":
      `request.namespace != "ci" || !("release-agent" in variables.serviceAccounts)`,
    "the agent's own Secret":
      `request.namespace != "ci" || variables.secrets.all(l, l.all(n, !(n in ["release-agent-agent-token"])))`,
  });
  assert.deepEqual(Object.keys(checks(admission(manifests, "secrets").policy)), [
    "the agent creates only Opaque Secrets",
  ]);
});

Deno.test("agent admission policy: its regexes match the names the program's patterns match", () => {
  const patterns = ["ci-*", "*-credentials", "*.example.com", "quay.io", "a*b*c", "localhost:5000"];
  const names = [
    "ci-x",
    "ci-",
    "xci-x",
    "git-credentials",
    "credentials",
    "registry.example.com",
    "example.com",
    "registryxexample.com",
    "quay.io",
    "quayxio",
    "quay.io.evil",
    "abc",
    "a-b-c",
    "ab",
    "localhost:5000",
  ];
  const manifests = render("agent", { set: [`policy.allowedRegistries={${patterns.join(",")}}`] });
  const expression = checks(admission(manifests, "steps").policy)[
    `allowedRegistries: ${patterns.join(", ")}`
  ];
  const regexes: string[] = JSON.parse(
    expression.match(/^variables\.images\.all\(i, (\[.*?\])\.exists/)![1],
  );
  assert.equal(regexes.length, patterns.length);
  patterns.forEach((pattern, index) => {
    for (const name of names) {
      assert.equal(
        new RegExp(regexes[index]).test(name),
        matchesPattern(name, pattern),
        `${pattern} (${regexes[index]}) against ${name}`,
      );
    }
  });
});

Deno.test("agent admission policy: none below Kubernetes 1.30, nor with admissionPolicy.enabled=false", () => {
  const kinds = (manifests: Manifest[]) =>
    manifests.filter((m) => m.kind.startsWith("ValidatingAdmissionPolicy")).length;
  assert.equal(kinds(render("agent")), 4);
  assert.equal(kinds(render("agent", { kubeVersion: "1.30.0" })), 4);
  assert.equal(kinds(render("agent", { kubeVersion: "1.29.9" })), 0);
  assert.equal(kinds(render("agent", { set: ["admissionPolicy.enabled=false"] })), 0);
});

/** helm template's failure for `set`: its stderr. */
function refusal(set: string[]): string {
  const result = run(binaryPath("helm"), [
    "template",
    "charts/agent",
    "--namespace",
    NAMESPACE,
    "--kube-version",
    KUBERNETES_VERSION,
    ...set.flatMap((value) => ["--set", value]),
  ]);
  assert.notEqual(result.status, 0, `helm template ${set.join(" ")} is refused`);
  return result.stderr;
}

Deno.test("agent steps namespace: created with Pod Security Admission baseline enforced by default", () => {
  const namespace = only(render("agent"), "Namespace");
  assert.equal(namespace.metadata.name, STEPS);
  assert.equal(namespace.metadata.labels["pod-security.kubernetes.io/enforce"], "baseline");
  assert.equal(namespace.metadata.labels["pod-security.kubernetes.io/enforce-version"], "latest");
  assert.ok(
    !Object.keys(namespace.metadata.labels).some((label) =>
      /pod-security\.kubernetes\.io\/(audit|warn)/.test(label)
    ),
    "audit and warn are left out",
  );
});

Deno.test("agent steps namespace: name, levels, version, labels and annotations as given", () => {
  const manifests = render("agent", { valuesFile: fullValues("agent") });
  const namespace = only(manifests, "Namespace");
  assert.equal(namespace.metadata.name, "buildkite-steps");
  for (const mode of ["enforce", "audit", "warn"]) {
    assert.equal(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`], "restricted");
    assert.equal(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}-version`], "v1.37");
  }
  assert.equal(namespace.metadata.labels.team, "ci");
  assert.deepEqual(namespace.metadata.annotations, { owner: "ci-operators" });
  assert.equal(pluginDefaults(manifests).BUILDKITE_PLUGIN_KUBERNETES_NAMESPACE, "buildkite-steps");
});

Deno.test("agent steps namespace: an existing one (create=false) is not rendered but gets the Role", () => {
  const manifests = render("agent", {
    set: ["stepsNamespace.create=false", "stepsNamespace.name=builds"],
  });
  assert.ok(!manifests.some((m) => m.kind === "Namespace"));
  assert.deepEqual(
    sortRules(only(manifests, "Role", "builds").rules),
    sortRules(Object.values(AGENT_RULES)),
  );
  assert.equal(pluginDefaults(manifests).BUILDKITE_PLUGIN_KUBERNETES_NAMESPACE, "builds");
});

Deno.test("agent steps namespace: holds the steps' copies of the git Secrets, never the agent's token", () => {
  const manifests = render("agent", { set: GIT_AUTH });
  const secrets = (namespace: string) =>
    manifests.filter((m) => m.kind === "Secret" && m.metadata.namespace === namespace)
      .map((m) => m.metadata.name).sort();
  assert.deepEqual(secrets(STEPS), ["release-agent-git-credentials", "release-agent-git-ssh"]);
  assert.deepEqual(secrets(NAMESPACE), [
    "release-agent-agent-token",
    "release-agent-git-credentials",
    "release-agent-git-ssh",
  ]);
  for (const name of ["release-agent-git-credentials", "release-agent-git-ssh"]) {
    const [agents, steps] = [NAMESPACE, STEPS].map((namespace) =>
      manifests.find((m) =>
        m.kind === "Secret" && m.metadata.name === name && m.metadata.namespace === namespace
      )
    );
    assert.ok(agents && steps, `${name} in both namespaces`);
    assert.deepEqual(steps.data, agents.data, `${name} is copied as is`);
  }
});

Deno.test("agent steps namespace: a layout that would put the agent's Secrets there is refused, naming the option", () => {
  assert.match(
    refusal([...REQUIRED_VALUES.agent, "agentToken.shareWithSteps=true"]),
    /agentToken\.shareWithSteps=true needs stepsNamespace\.enabled=false: the registration token never goes into the steps namespace/,
  );
  assert.match(
    refusal([...REQUIRED_VALUES.agent, `stepsNamespace.name=${NAMESPACE}`]),
    /stepsNamespace\.name "ci" is the release namespace, which holds the agent's Secrets/,
  );
  assert.match(
    refusal([...REQUIRED_VALUES.agent, "stepsNamespace.podSecurity.enforce=strict"]),
    /\/stepsNamespace\/podSecurity\/enforce/,
  );
});

Deno.test("agent Secrets: an empty token or git credential is a values error naming it, not an empty Secret", () => {
  assert.match(refusal([]), /at '\/agentToken\/value': minLength: got 0, want 1/);
  assert.match(
    refusal([...REQUIRED_VALUES.agent, "gitAuth.credentials.enabled=true"]),
    /at '\/gitAuth\/credentials\/value': minLength: got 0, want 1/,
  );
  assert.match(
    refusal([...REQUIRED_VALUES.agent, "gitAuth.ssh.enabled=true"]),
    /at '\/gitAuth\/ssh\/value': minLength: got 0, want 1/,
  );
  // An existing Secret needs no value.
  render("agent", {
    valuesFile: undefined,
    set: ["agentToken.value=", "agentToken.existingSecretName=token"],
  });
});

Deno.test("agent Deployment: non-root, read-only root with emptyDirs where it writes, health-checked", () => {
  const manifests = render("agent");
  const pod = only(manifests, "Deployment").spec.template.spec;
  const agent = container(manifests);
  assert.deepEqual(pod.securityContext, {
    runAsNonRoot: true,
    runAsUser: 10000,
    runAsGroup: 10000,
    fsGroup: 10000,
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.deepEqual(agent.securityContext, {
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  });
  const emptyDirs = new Set(
    pod.volumes.filter((v: Manifest) => "emptyDir" in v).map((v: Manifest) => v.name),
  );
  const writable = agent.volumeMounts.filter((m: Manifest) => emptyDirs.has(m.name))
    .map((m: Manifest) => m.mountPath).sort();
  assert.deepEqual(writable, [
    "/buildkite/builds",
    "/buildkite/plugins",
    "/home/buildkite-agent",
    "/tmp",
  ]);
  const env = plainEnv(manifests);
  assert.equal(env.HOME, "/home/buildkite-agent");
  assert.equal(env.BUILDKITE_AGENT_HEALTH_CHECK_ADDR, ":3901");
  assert.deepEqual(agent.ports, [{ name: "health", containerPort: 3901 }]);
  assert.deepEqual(agent.livenessProbe.httpGet, { path: "/", port: "health" });
  assert.equal(pod.automountServiceAccountToken, true, "the agent talks to the API server");
  assert.equal(
    only(manifests, "ServiceAccount").automountServiceAccountToken,
    false,
    "no other pod gets the agent's token by running as its ServiceAccount",
  );
});

Deno.test("agent Deployment: healthCheck.port moves the health check and its probe together", () => {
  const manifests = render("agent", { valuesFile: fullValues("agent") });
  const agent = container(manifests);
  assert.equal(plainEnv(manifests).BUILDKITE_AGENT_HEALTH_CHECK_ADDR, ":8090");
  assert.deepEqual(agent.ports, [{ name: "health", containerPort: 8090 }]);
  assert.deepEqual(agent.livenessProbe.httpGet, { path: "/status", port: "health" });
});
