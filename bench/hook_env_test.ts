import assert from "node:assert/strict";
import { parseEnvFile, unquoteGo } from "../src/config/env_file.ts";
import { decodeFlattened } from "../src/config/sources.ts";
import {
  envFileText,
  flattenConfiguration,
  FLATTENED_PREFIX,
  goQuote,
  hookEnvironment,
  jobVariables,
} from "./hook_env.ts";

const flattening: {
  name: string;
  config: Record<string, unknown>;
  expected: Record<string, string>;
}[] = [
  {
    name: "strings, an empty string, booleans and numbers",
    config: { image: "alpine:3", "init-image": "", privileged: false, "job-backoff-limit": 2 },
    expected: {
      BUILDKITE_PLUGIN_KUBERNETES_IMAGE: "alpine:3",
      BUILDKITE_PLUGIN_KUBERNETES_INIT_IMAGE: "",
      BUILDKITE_PLUGIN_KUBERNETES_PRIVILEGED: "false",
      BUILDKITE_PLUGIN_KUBERNETES_JOB_BACKOFF_LIMIT: "2",
    },
  },
  {
    name: "arrays by index, nested objects by key, empty ones not at all",
    config: {
      environment: ["A=1", "B=2"],
      "pod-spec-patch": { nodeSelector: { "disk-type": "ssd" } },
      "mount-secret": [],
      extra: {},
    },
    expected: {
      BUILDKITE_PLUGIN_KUBERNETES_ENVIRONMENT_0: "A=1",
      BUILDKITE_PLUGIN_KUBERNETES_ENVIRONMENT_1: "B=2",
      BUILDKITE_PLUGIN_KUBERNETES_POD_SPEC_PATCH_NODESELECTOR_DISK_TYPE: "ssd",
    },
  },
];
for (const { name, config, expected } of flattening) {
  Deno.test(`flattenConfiguration: ${name}`, () => {
    assert.deepEqual(flattenConfiguration(FLATTENED_PREFIX, config), expected);
  });
}

Deno.test("the plugin reads the flattened benchmark configuration back as it was", () => {
  const config = { image: "alpine:3", "init-image": "", "agent-token-secret-name": "agent" };
  const decoded = decodeFlattened(flattenConfiguration(FLATTENED_PREFIX, config));
  assert.deepEqual(decoded.values, config);
});

const quoting = [
  "plain",
  "",
  'say "hi"',
  String.raw`back\slash`,
  "tab\tnew\nline\rbell\x07",
  "\x01\x1f\x7f",
  "ünïcödé ✓",
  `awk 'BEGIN { printf "line-%06d\\n", 1 }'; echo "bench-end $(date +%s%N)"`,
];
for (const value of quoting) {
  Deno.test(`goQuote round-trips through the plugin's Go unquoting: ${JSON.stringify(value)}`, () => {
    assert.equal(unquoteGo(goQuote(value)), value);
  });
}

Deno.test("goQuote writes Go's escapes", () => {
  assert.equal(goQuote('a"b\\c\n\x01'), String.raw`"a\"b\\c\n\x01"`);
});

Deno.test("the env file holds the job's variables, readable by the plugin's parser", () => {
  const job = { jobId: "job-1", command: 'echo "hi"', plugin: { image: "alpine:3" } };
  const parsed = parseEnvFile(envFileText(jobVariables(job)), "env file");
  assert.deepEqual(Object.fromEntries(parsed.vars), jobVariables(job));
});

Deno.test("the hook environment has the job, the agent's variables and the configuration twice", () => {
  const env = hookEnvironment(
    { jobId: "job-1", command: "true", plugin: { image: "alpine:3", "init-image": "" } },
    {
      path: "/bin",
      home: "/home/bench",
      kubeconfig: "/k",
      envFile: "/e.env",
      envJsonFile: "/e.json",
    },
  );
  assert.equal(env.BUILDKITE_JOB_ID, "job-1");
  assert.equal(env.BUILDKITE_COMMAND, "true");
  assert.equal(env.KUBECONFIG, "/k");
  assert.equal(env.BUILDKITE_ENV_FILE, "/e.env");
  assert.equal(env.BUILDKITE_PLUGIN_CONFIGURATION, '{"image":"alpine:3","init-image":""}');
  assert.equal(env.BUILDKITE_PLUGIN_KUBERNETES_IMAGE, "alpine:3");
  assert.equal(env.BUILDKITE_PLUGIN_KUBERNETES_INIT_IMAGE, "");
  assert.ok(env.BUILDKITE_AGENT_ACCESS_TOKEN);
  assert.deepEqual(JSON.parse(env.BUILDKITE_PLUGINS), [{
    "github.com/muhlba91/kubernetes-buildkite-plugin#v2.0.0": {
      image: "alpine:3",
      "init-image": "",
    },
  }]);
});
