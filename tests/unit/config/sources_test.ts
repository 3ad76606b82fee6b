import assert from "node:assert/strict";
import {
  decodeFlattened,
  envKey,
  loadValueReader,
  pluginName,
  readConfiguration,
} from "../../../src/config/sources.ts";

const pluginNames: [string, string][] = [
  ["muhlba91/kubernetes#v2.0.0", "kubernetes"],
  ["github.com/muhlba91/kubernetes-buildkite-plugin#v2.0.0", "kubernetes"],
  ["https://github.com/muhlba91/kubernetes-buildkite-plugin.git#main", "kubernetes"],
  ["file:///tmp/kubernetes-buildkite-plugin.git#0123abc", "kubernetes"],
  ["./plugins/kubernetes", "kubernetes"],
  ["./plugins/kubernetes/", "kubernetes"],
  ["docker#v5.0.0", "docker"],
  ["EmbarkStudios/k8s#1.2.3", "k8s"],
];
for (const [source, expected] of pluginNames) {
  Deno.test(`the agent names plugin source ${source} "${expected}"`, () => {
    assert.equal(pluginName(source), expected);
  });
}

Deno.test("envKey follows the agent's formatEnvKey", () => {
  assert.equal(envKey("environment-from-secret"), "ENVIRONMENT_FROM_SECRET");
  assert.equal(envKey("job ttl"), "JOB_TTL");
});

const P = "BUILDKITE_PLUGIN_KUBERNETES_";

const flattened: {
  name: string;
  env: Record<string, string>;
  expected: Record<string, unknown>;
}[] = [
  { name: "a string", env: { [`${P}IMAGE`]: "alpine" }, expected: { image: "alpine" } },
  {
    name: "booleans",
    env: { [`${P}ALWAYS_PULL`]: "true", [`${P}PRIVILEGED`]: "False" },
    expected: { "always-pull": true, privileged: false },
  },
  {
    name: "integers",
    env: { [`${P}JOB_BACKOFF_LIMIT`]: "2", [`${P}JOB_TTL_SECONDS_AFTER_FINISHED`]: "60" },
    expected: { "job-backoff-limit": 2, "job-ttl-seconds-after-finished": 60 },
  },
  {
    name: "a list in numeric index order, _10 after _9",
    env: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`${P}COMMAND_${i}`, `arg${i}`])),
    expected: { command: Array.from({ length: 12 }, (_, i) => `arg${i}`) },
  },
  {
    name: "ENVIRONMENT items apart from ENVIRONMENT_FROM_SECRET items",
    env: {
      [`${P}ENVIRONMENT_0`]: "A=1",
      [`${P}ENVIRONMENT_1`]: "B=2",
      [`${P}ENVIRONMENT_FROM_SECRET_0`]: "s1",
      [`${P}INIT_ENVIRONMENT_FROM_SECRET`]: "s2",
    },
    expected: {
      environment: ["A=1", "B=2"],
      "environment-from-secret": ["s1"],
      "init-environment-from-secret": "s2",
    },
  },
  {
    name: "an array-only option given once",
    env: { [`${P}ENVIRONMENT`]: "A=1" },
    expected: { environment: ["A=1"] },
  },
  {
    name: "pod-spec-patch as one YAML value",
    env: { [`${P}POD_SPEC_PATCH`]: "nodeSelector: {disk: ssd}" },
    expected: { "pod-spec-patch": { nodeSelector: { disk: "ssd" } } },
  },
  {
    name: "other variables are not ours",
    env: { BUILDKITE_PLUGIN_NAME: "KUBERNETES", BUILDKITE_PLUGIN_DOCKER_IMAGE: "x", PATH: "/bin" },
    expected: {},
  },
];
for (const { name, env, expected } of flattened) {
  Deno.test(`flattened variables: ${name}`, async () => {
    await loadValueReader(env);
    assert.deepEqual(decodeFlattened(env).values, expected);
  });
}

Deno.test("an unknown flattened variable is an error listing it", () => {
  assert.throws(
    () => decodeFlattened({ [`${P}IMAGEE`]: "x", [`${P}IMAGE`]: "alpine" }),
    /unknown plugin option from the environment: BUILDKITE_PLUGIN_KUBERNETES_IMAGEE/,
  );
});

Deno.test("the bash plugins' polling tunables are ignored with a warning", () => {
  const decoded = decodeFlattened({ [`${P}JOB_STATUS_RETRY_INTERVAL_SEC`]: "5" });
  assert.deepEqual(decoded.values, {});
  assert.match(decoded.warnings[0], /JOB_STATUS_RETRY_INTERVAL_SEC is ignored/);
});

Deno.test("a nested pod-spec-patch in flattened variables is an error unless the JSON gives it", () => {
  const env = { [`${P}POD_SPEC_PATCH_NODESELECTOR_DISK`]: "ssd" };
  assert.throws(() => decodeFlattened(env), /cannot be read from flattened variables/);
  assert.deepEqual(decodeFlattened(env, new Set(["pod-spec-patch"])).values, {});
});

Deno.test("merge order: agent-wide variables < the step's configuration", () => {
  const raw = readConfiguration({
    [`${P}SERVICE_ACCOUNT_NAME`]: "agent-wide",
    [`${P}NAMESPACE`]: "builds",
    [`${P}ENVIRONMENT_0`]: "A=agent",
    [`${P}ENVIRONMENT_1`]: "B=agent",
    BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify({
      image: "alpine",
      "service-account-name": "step",
      environment: ["C=step"],
    }),
  });
  assert.deepEqual(raw.values, {
    image: "alpine",
    "service-account-name": "step",
    namespace: "builds",
    environment: ["C=step"],
  });
  assert.equal(raw.origins.namespace, "BUILDKITE_PLUGIN_KUBERNETES_NAMESPACE");
  assert.equal(raw.origins.image, "the step's plugin configuration");
});

Deno.test("the step's configuration falls back to its entry in BUILDKITE_PLUGINS", () => {
  const raw = readConfiguration({
    BUILDKITE_PLUGINS: JSON.stringify([
      { "docker#v5.0.0": { image: "not-ours" } },
      { "github.com/muhlba91/kubernetes-buildkite-plugin#v2.0.0": { image: "ours" } },
    ]),
  });
  assert.deepEqual(raw.values, { image: "ours" });
});

Deno.test("a plugin listed without configuration has none", () => {
  assert.deepEqual(
    readConfiguration({ BUILDKITE_PLUGINS: '[{"muhlba91/kubernetes#v2.0.0":null}]' }).values,
    {},
  );
});

const brokenSources: [string, Record<string, string>, RegExp][] = [
  [
    "broken JSON",
    { BUILDKITE_PLUGIN_CONFIGURATION: "{image: alpine" },
    /BUILDKITE_PLUGIN_CONFIGURATION is not valid JSON/,
  ],
  [
    "an array",
    { BUILDKITE_PLUGIN_CONFIGURATION: "[1]" },
    /must be a JSON object of plugin options, got an array/,
  ],
  ["a string", { BUILDKITE_PLUGIN_CONFIGURATION: '"alpine"' }, /got string/],
  ["broken BUILDKITE_PLUGINS", { BUILDKITE_PLUGINS: "[{" }, /BUILDKITE_PLUGINS is not valid JSON/],
  ["BUILDKITE_PLUGINS not a list", { BUILDKITE_PLUGINS: "{}" }, /must be a JSON array/],
  [
    "this plugin twice",
    { BUILDKITE_PLUGINS: '[{"muhlba91/kubernetes#v1":{}},{"muhlba91/kubernetes#v2":{}}]' },
    /lists this plugin 2 times/,
  ],
  [
    "pod-spec-patch not YAML",
    { [`${P}POD_SPEC_PATCH`]: "a: [b" },
    /BUILDKITE_PLUGIN_KUBERNETES_POD_SPEC_PATCH: the value is not a YAML or JSON object/,
  ],
];
for (const [name, env, message] of brokenSources) {
  Deno.test(`configuration source error: ${name}`, async () => {
    await loadValueReader(env);
    assert.throws(() => readConfiguration(env), message);
  });
}
