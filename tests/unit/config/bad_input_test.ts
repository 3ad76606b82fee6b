/**
 * Every mistake a pipeline author can make ends in one clear message naming the option,
 * its value and what is accepted, with the configuration exit status.
 */
import assert from "node:assert/strict";
import { loadConfiguration } from "../../../src/config/mod.ts";
import { EXIT, UserError } from "../../../src/exit_status.ts";
import { renderStep } from "../../../src/render/mod.ts";
import { hookEnv, JOB_ENV, withJobEnvFile } from "../helpers.ts";

type Case = {
  name: string;
  plugin?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  message: RegExp;
};

const P = "BUILDKITE_PLUGIN_KUBERNETES_";
const image = { image: "alpine" };

const cases: Case[] = [
  {
    name: "missing image",
    plugin: {},
    message: /option `image` is required: a string/,
  },
  {
    name: "empty image",
    plugin: { image: "" },
    message: /option `image` .*: "" must not be empty/,
  },
  {
    name: "image not a string",
    plugin: { image: 3 },
    message: /option `image` .*: expected a string, got a number 3/,
  },
  {
    name: "unknown option with a suggestion",
    plugin: { ...image, "always-pul": true },
    message: /unknown option `always-pul` .*did you mean `always-pull`\?/,
  },
  {
    name: "unknown option, with the flattened copy a real agent sets beside the JSON",
    plugin: { ...image, "always-pul": true },
    env: { [`${P}IMAGE`]: "alpine", [`${P}ALWAYS_PUL`]: "true" },
    message: /unknown option `always-pul` .*did you mean `always-pull`\?/,
  },
  {
    name: "unknown option that prefixes an agent-wide one",
    plugin: { ...image, "image-pull": "regcred" },
    env: { [`${P}IMAGE_PULL`]: "regcred", [`${P}IMAGE_PULL_SECRETS_0`]: "agent-wide" },
    message: /unknown option `image-pull` \(from the step.s plugin configuration\)/,
  },
  {
    name: "unknown option far from any",
    plugin: { ...image, zzzzzz: 1 },
    message: /unknown option `zzzzzz`.*known options: image, always-pull/,
  },
  {
    name: "boolean as a string",
    plugin: { ...image, "always-pull": "yes" },
    message: /option `always-pull` .*: expected true or false, got a string "yes"/,
  },
  {
    name: "privileged as a number",
    plugin: { ...image, privileged: 1 },
    message: /option `privileged` .*expected true or false, got a number 1/,
  },
  {
    name: "command as an object",
    plugin: { ...image, command: { a: 1 } },
    message: /option `command` .*must be a string or a list of strings, got an object/,
  },
  {
    name: "command item not a string",
    plugin: { ...image, command: ["ok", 5] },
    message: /option `command` .* item \[1\]: expected a string, got a number 5/,
  },
  {
    name: "environment not a list",
    plugin: { ...image, environment: "A=1" },
    message: /option `environment` .*expected a list, got a string/,
  },
  {
    name: "environment entry without =",
    plugin: { ...image, environment: ["A=1", "JUSTNAME"] },
    message: /option `environment` .* item \[1\]: "JUSTNAME" must be KEY=value/,
  },
  {
    name: "environment entry with an empty name",
    plugin: { ...image, environment: ["=x"] },
    message: /item \[0\]: "=x" must be KEY=value/,
  },
  {
    name: "secret name with capitals",
    plugin: { ...image, "environment-from-secret": "MySecret" },
    message: /option `environment-from-secret` .*"MySecret" must be a Kubernetes object name/,
  },
  {
    name: "init secret list item invalid",
    plugin: { ...image, "init-environment-from-secret": ["ok", "bad_name"] },
    message:
      /option `init-environment-from-secret` .* item \[1\]: "bad_name" must be a Kubernetes object name/,
  },
  {
    name: "mount-hostpath without container path",
    plugin: { ...image, "mount-hostpath": "/var/cache" },
    message: /option `mount-hostpath` .*"\/var\/cache" must be \/host\/path:\/container\/path/,
  },
  {
    name: "mount-hostpath relative",
    plugin: { ...image, "mount-hostpath": ["cache:/cache"] },
    message: /option `mount-hostpath` .* item \[0\]: "cache:\/cache" must be/,
  },
  {
    name: "mount-hostpath bad mode",
    plugin: { ...image, "mount-hostpath": "/a:/b:rx" },
    message: /"\/a:\/b:rx" must be \/host\/path:\/container\/path, optionally followed by :ro/,
  },
  {
    name: "mount-secret without path",
    plugin: { ...image, "mount-secret": "my-secret" },
    message: /option `mount-secret` .*"my-secret" must be secretName:\/container\/path/,
  },
  {
    name: "mount-secret relative path",
    plugin: { ...image, "mount-secret": "my-secret:etc" },
    message: /"my-secret:etc" must be secretName:\/container\/path/,
  },
  {
    name: "same path mounted twice",
    plugin: { ...image, "mount-hostpath": "/a:/data", "mount-secret": "s:/data/" },
    message: /mounts \/data twice/,
  },
  {
    name: "bad cpu quantity",
    plugin: { ...image, "resources-limit-cpu": "two" },
    message: /option `resources-limit-cpu` .*"two" must be a Kubernetes quantity such as 500m/,
  },
  {
    name: "bad memory unit",
    plugin: { ...image, "resources-request-memory": "1GB" },
    message: /option `resources-request-memory` .*"1GB" must be a Kubernetes quantity/,
  },
  {
    name: "negative quantity",
    plugin: { ...image, "resources-request-cpu": -1 },
    message: /option `resources-request-cpu` .*: -1 must be a Kubernetes quantity such as 500m/,
  },
  {
    name: "request above limit",
    plugin: { ...image, "resources-request-memory": "2Gi", "resources-limit-memory": "1Gi" },
    message: /`resources-request-memory` \(2Gi\) is greater than `resources-limit-memory` \(1Gi\)/,
  },
  {
    name: "cpu request above limit in millicores",
    plugin: { ...image, "resources-request-cpu": "1500m", "resources-limit-cpu": 1 },
    message: /`resources-request-cpu` \(1500m\) is greater than `resources-limit-cpu` \(1\)/,
  },
  {
    name: "backoff limit negative",
    plugin: { ...image, "job-backoff-limit": -1 },
    message: /option `job-backoff-limit` .*: -1 must be 0 or more/,
  },
  {
    name: "ttl not whole",
    plugin: { ...image, "job-ttl-seconds-after-finished": 1.5 },
    message: /option `job-ttl-seconds-after-finished` .*: 1.5 must be a whole number of seconds/,
  },
  {
    name: "pending-timeout as text",
    plugin: { ...image, "pending-timeout": "10m" },
    message: /option `pending-timeout` .*: "10m" must be a whole number of seconds/,
  },
  {
    name: "image-pull-grace negative",
    plugin: { ...image, "image-pull-grace": -5 },
    message: /option `image-pull-grace` .*-5 must be 0 or more seconds/,
  },
  {
    name: "namespace with dots",
    plugin: { ...image, namespace: "my.ns" },
    message: /option `namespace` .*"my.ns" must be a namespace name/,
  },
  {
    name: "workdir relative",
    plugin: { ...image, workdir: "src" },
    message: /option `workdir` .*"src" must be an absolute path/,
  },
  {
    name: "workdir holding the checkout directory, which the checkout mounted there would hide",
    plugin: { ...image, workdir: "/buildkite/" },
    message:
      /option `workdir` .*"\/buildkite\/" holds the checkout directory \/buildkite\/builds\/agent-1\/acme\/my-app, which the checkout mounted at `workdir` would hide; give the checkout directory, a directory in it, or a path outside it/,
  },
  {
    name: "build path host path relative",
    plugin: { ...image, "build-path-host-path": "builds" },
    message: /option `build-path-host-path` .*must be an absolute path/,
  },
  {
    name: "both build path volumes",
    plugin: { ...image, "build-path-host-path": "/b", "build-path-pvc": "builds" },
    message: /`build-path-host-path` and `build-path-pvc` exclude each other/,
  },
  {
    name: "service account invalid",
    plugin: { ...image, "service-account-name": "Builder!" },
    message: /option `service-account-name` .*"Builder!" must be a Kubernetes object name/,
  },
  {
    name: "secret key invalid",
    plugin: { ...image, "git-ssh-secret-key": "id rsa" },
    message: /option `git-ssh-secret-key` .*"id rsa" must be a Secret key/,
  },
  {
    name: "pod-spec-patch not an object",
    plugin: { ...image, "pod-spec-patch": "nodeSelector: x" },
    message: /option `pod-spec-patch` .*expected an object \(a mapping\), got a string/,
  },
  {
    name: "patch not a string",
    plugin: { ...image, patch: { a: 1 } },
    message: /option `patch` .*expected a string, got an object/,
  },
  {
    name: "plugin command and step command",
    plugin: { ...image, command: ["echo", "x"] },
    message: /option `command` cannot be used when the step has its own `command`/,
  },
  {
    name: "mount-buildkite-agent without a checkout container",
    plugin: { ...image, "init-image": "", "mount-buildkite-agent": true },
    message: /`mount-buildkite-agent: true` needs the checkout container/,
  },
  {
    name: "flattened boolean typo",
    env: { [`${P}IMAGE`]: "alpine", [`${P}ALWAYS_PULL`]: "ture" },
    message:
      /option `always-pull` \(from BUILDKITE_PLUGIN_KUBERNETES_ALWAYS_PULL\): expected true or false, got a string "ture"/,
  },
  {
    name: "flattened integer typo",
    env: { [`${P}IMAGE`]: "alpine", [`${P}JOB_BACKOFF_LIMIT`]: "two" },
    message: /option `job-backoff-limit` \(from BUILDKITE_PLUGIN_KUBERNETES_JOB_BACKOFF_LIMIT\)/,
  },
  {
    name: "broken plugin configuration JSON",
    env: { BUILDKITE_PLUGIN_CONFIGURATION: '{"image": "alpine",}' },
    message: /BUILDKITE_PLUGIN_CONFIGURATION is not valid JSON/,
  },
  {
    name: "timeout not a number",
    plugin: image,
    env: { BUILDKITE_TIMEOUT: "ten" },
    message: /BUILDKITE_TIMEOUT="ten" is not a number of minutes/,
  },
  {
    name: "no job id",
    plugin: image,
    env: { BUILDKITE_JOB_ID: undefined },
    message: /BUILDKITE_JOB_ID is not set/,
  },
  {
    name: "unreadable env file",
    plugin: image,
    env: { BUILDKITE_ENV_FILE: "/nonexistent/env" },
    message: /BUILDKITE_ENV_FILE=\/nonexistent\/env cannot be read/,
  },
  {
    name: "metadata label value with a space",
    plugin: { ...image, metadata: { labels: { team: "ci team" } } },
    message:
      /option `metadata` \(from the step.s plugin configuration\) item \[labels\]\[team\]: "ci team" must be a label value: at most 63 letters, digits, '-', '_' and '\.', starting and ending alphanumeric/,
  },
  {
    name: "metadata label value of 64 characters",
    plugin: { ...image, metadata: { labels: { team: "a".repeat(64) } } },
    message: /item \[labels\]\[team\]: "a{64}" must be a label value: at most 63/,
  },
  {
    name: "metadata label value ending in a dash",
    plugin: { ...image, metadata: { labels: { team: "ci-" } } },
    message: /item \[labels\]\[team\]: "ci-" must be a label value/,
  },
  {
    name: "metadata label value a number",
    plugin: { ...image, metadata: { labels: { version: 2 } } },
    message: /item \[labels\]\[version\]: 2 must be a string \(quote numbers and booleans/,
  },
  {
    name: "metadata label key with two slashes",
    plugin: { ...image, metadata: { labels: { "a/b/c": "x" } } },
    message: /item \[labels\]: key "a\/b\/c" must be a label key: an optional DNS subdomain prefix/,
  },
  {
    name: "metadata label key with an upper-case prefix",
    plugin: { ...image, metadata: { labels: { "Example.com/team": "x" } } },
    message: /item \[labels\]: key "Example\.com\/team" must be a label key/,
  },
  {
    name: "metadata label key name over 63",
    plugin: { ...image, metadata: { labels: { [`example.com/${"n".repeat(64)}`]: "x" } } },
    message: /item \[labels\]: key "example\.com\/n{64}" must be a label key/,
  },
  {
    name: "metadata label key prefix over 253",
    plugin: { ...image, metadata: { labels: { [`${"p".repeat(254)}/team`]: "x" } } },
    message: /item \[labels\]: key "p+\.\.\. must be a label key/,
  },
  {
    name: "metadata label key the cleanup finds the Job by",
    plugin: { ...image, metadata: { labels: { "buildkite/job-id": "other" } } },
    message:
      /item \[labels\]: key "buildkite\/job-id" is reserved: keys under buildkite\/ are the plugin's own/,
  },
  {
    name: "metadata label key the cleanup lists the plugin's Jobs by",
    plugin: { ...image, metadata: { labels: { "buildkite/plugin": "other" } } },
    message: /key "buildkite\/plugin" is reserved/,
  },
  {
    name: "metadata annotation key under the plugin's prefix",
    plugin: { ...image, metadata: { annotations: { "buildkite/build-url": "x" } } },
    message: /item \[annotations\]: key "buildkite\/build-url" is reserved/,
  },
  {
    name: "metadata label key of the Job controller",
    plugin: { ...image, metadata: { labels: { "job-name": "x" } } },
    message: /key "job-name" is reserved: Kubernetes' Job controller sets it/,
  },
  {
    name: "metadata label key under the Job controller's prefix",
    plugin: { ...image, metadata: { labels: { "batch.kubernetes.io/job-name": "x" } } },
    message: /key "batch\.kubernetes\.io\/job-name" is reserved: Kubernetes' Job controller/,
  },
  {
    name: "metadata annotations over 256 KiB",
    plugin: { ...image, metadata: { annotations: { big: "x".repeat(256 * 1024) } } },
    message:
      /item \[annotations\]: .* has 262147 bytes of keys and values, over Kubernetes' limit of 262144 \(256 KiB\)/,
  },
  {
    name: "metadata with an unknown key",
    plugin: { ...image, metadata: { label: { team: "ci" } } },
    message: /option `metadata` .*: unknown key `label`; known keys: labels, annotations/,
  },
  {
    name: "metadata labels not a mapping",
    plugin: { ...image, metadata: { labels: ["team=ci"] } },
    message: /item \[labels\]: expected an object \(a mapping\), got a list/,
  },
  {
    name: "metadata agent-wide with a bad label value",
    plugin: image,
    env: { [`${P}METADATA`]: '{"labels": {"team": "ci team"}}' },
    message:
      /option `metadata` \(from BUILDKITE_PLUGIN_KUBERNETES_METADATA\) item \[labels\]\[team\]: "ci team" must be a label value/,
  },
  {
    name: "safe-to-evict as a string",
    plugin: { ...image, "safe-to-evict": "false" },
    message: /option `safe-to-evict` .*: expected true or false, got a string "false"/,
  },
  {
    name: "safe-to-evict agent-wide not a boolean",
    plugin: image,
    env: { [`${P}SAFE_TO_EVICT`]: "never" },
    message:
      /option `safe-to-evict` \(from BUILDKITE_PLUGIN_KUBERNETES_SAFE_TO_EVICT\): expected true or false, got a string "never"/,
  },
  {
    name: "run-as-user a name",
    plugin: { ...image, "run-as-user": "node" },
    message: /option `run-as-user` .*: "node" must be a whole number \(a user id\)/,
  },
  {
    name: "run-as-user negative",
    plugin: { ...image, "run-as-user": -1 },
    message: /option `run-as-user` .*: -1 must be a user id, 0 or more/,
  },
  {
    name: "run-as-group fractional",
    plugin: { ...image, "run-as-group": 1000.5 },
    message: /option `run-as-group` .*: 1000\.5 must be a whole number \(a group id\)/,
  },
  {
    name: "fs-group negative",
    plugin: { ...image, "fs-group": -5 },
    message: /option `fs-group` .*: -5 must be a group id, 0 or more/,
  },
  {
    name: "active-deadline-seconds as a duration",
    plugin: { ...image, "active-deadline-seconds": "1h" },
    message: /option `active-deadline-seconds` .*: "1h" must be a whole number of seconds/,
  },
  {
    name: "active-deadline-seconds negative",
    plugin: { ...image, "active-deadline-seconds": -60 },
    message: /option `active-deadline-seconds` .*: -60 must be 0 or more seconds/,
  },
  {
    name: "active-deadline-seconds agent-wide not a number",
    plugin: image,
    env: { [`${P}ACTIVE_DEADLINE_SECONDS`]: "2h" },
    message:
      /option `active-deadline-seconds` \(from BUILDKITE_PLUGIN_KUBERNETES_ACTIVE_DEADLINE_SECONDS\): "2h" must be a whole number of seconds/,
  },
  {
    name: "command eval forbidden",
    plugin: image,
    env: { BUILDKITE_COMMAND_EVAL: "false" },
    message: /forbids running commands \(BUILDKITE_COMMAND_EVAL=false\)/,
  },
];

const db = { name: "db", image: "postgres:16" };
const sidecarCases: Case[] = [
  {
    name: "sidecars not a list",
    plugin: { ...image, sidecars: db },
    message: /option `sidecars` .*: expected a list, got an object/,
  },
  {
    name: "a sidecar without an image",
    plugin: { ...image, sidecars: [{ name: "db" }] },
    message: /option `sidecars` .* item \[0\]\[image\] is required: a string/,
  },
  {
    name: "a sidecar named like the plugin's step container",
    plugin: { ...image, sidecars: [{ ...db, name: "step" }] },
    message:
      /option `sidecars` .* item \[0\]\[name\]: "step" is the name of one of the plugin's containers \(bootstrap, step\)/,
  },
  {
    name: "a sidecar name that is not a container name",
    plugin: { ...image, sidecars: [{ ...db, name: "My_DB" }] },
    message: /item \[0\]\[name\]: "My_DB" must be a container name/,
  },
  {
    name: "two sidecars of one name",
    plugin: { ...image, sidecars: [db, { ...db, image: "redis:7" }] },
    message: /option `sidecars` item \[1\]: the name "db" is taken by another sidecar/,
  },
  {
    name: "a field Kubernetes containers do not have",
    plugin: { ...image, sidecars: [{ ...db, imagePolicy: "Always" }] },
    message: /option `sidecars` .* item \[0\]: unknown key `imagePolicy`/,
  },
  {
    name: "a port out of range",
    plugin: { ...image, sidecars: [{ ...db, ports: [{ containerPort: 70000 }] }] },
    message: /item \[0\]\[ports\]\[0\]\[containerPort\]: 70000 must be a port number \(1-65535\)/,
  },
  {
    name: "a probe without a handler",
    plugin: { ...image, sidecars: [{ ...db, startupProbe: { periodSeconds: 1 } }] },
    message:
      /item \[0\]\[startupProbe\]: .* must have exactly one of exec, httpGet, tcpSocket or grpc/,
  },
  {
    name: "a probe period of 0",
    plugin: {
      ...image,
      sidecars: [{ ...db, startupProbe: { exec: { command: ["true"] }, periodSeconds: 0 } }],
    },
    message: /item \[0\]\[startupProbe\]\[periodSeconds\]: 0 must be 1 or more/,
  },
  {
    name: "a resource that is not a quantity",
    plugin: { ...image, sidecars: [{ ...db, resources: { limits: { memory: "lots" } } }] },
    message: /item \[0\]\[resources\]\[limits\]\[memory\]: "lots" must be a Kubernetes quantity/,
  },
  {
    name: "an environment variable with neither value nor valueFrom",
    plugin: { ...image, sidecars: [{ ...db, env: [{ name: "A" }] }] },
    message: /item \[0\]\[env\]\[0\]: .* must have either value or valueFrom/,
  },
  {
    name: "a relative mount path",
    plugin: { ...image, sidecars: [{ ...db, volumeMounts: [{ name: "v", mountPath: "data" }] }] },
    message: /item \[0\]\[volumeMounts\]\[0\]\[mountPath\]: "data" must be an absolute path/,
  },
  {
    name: "a mount over the checkout that mount-checkout mounts",
    plugin: {
      ...image,
      sidecars: [{
        ...db,
        "mount-checkout": true,
        volumeMounts: [{ name: "v", mountPath: "/buildkite/builds/" }],
      }],
    },
    message:
      /option `sidecars` item \[0\]: \/buildkite\/builds\/ is mounted twice \(`mount-checkout` mounts the build directory there\)/,
  },
  {
    name: "lost-pod-retries below 0",
    plugin: { ...image, "lost-pod-retries": -1 },
    message: /option `lost-pod-retries` .*: -1 must be 0 or more/,
  },
  {
    name: "lost-pod-retries not a whole number",
    plugin: { ...image, "lost-pod-retries": 1.5 },
    message: /option `lost-pod-retries` .*: 1.5 must be a whole number/,
  },
];
cases.push(...sidecarCases);

for (const { name, plugin, env, message } of cases) {
  Deno.test(`bad input: ${name}`, () => {
    const environment = plugin === undefined ? { ...JOB_ENV, ...env } : hookEnv(plugin, env);
    assert.throws(
      () => loadConfiguration(environment),
      (error: unknown) => {
        assert.ok(error instanceof UserError, `expected a UserError, got ${error}`);
        assert.match(error.message, message);
        assert.equal(error.exitStatus, EXIT.config.code);
        return true;
      },
    );
  });
}

Deno.test("bad input: workdir with the pipeline's checkout directory outside the build volume", () => {
  const environment = withJobEnvFile({ BUILDKITE_BUILD_CHECKOUT_PATH: "/checkout" }, {
    BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify({ ...image, workdir: "/src" }),
  });
  assert.throws(
    () => loadConfiguration(environment),
    (error: unknown) => {
      assert.ok(error instanceof UserError, `expected a UserError, got ${error}`);
      assert.match(
        error.message,
        /option `workdir` .*"\/src" gets the checkout mounted from the build volume, but the checkout directory \(BUILDKITE_BUILD_CHECKOUT_PATH=\/checkout\) is outside the build directory \(BUILDKITE_BUILD_PATH=\/buildkite\/builds\)/,
      );
      assert.equal(error.exitStatus, EXIT.config.code);
      return true;
    },
  );
});

const renderCases: {
  name: string;
  plugin: Record<string, unknown>;
  env?: Record<string, string>;
  message: RegExp;
}[] = [
  {
    name: "mount-hostpath over the plugin's buildkite-agent",
    plugin: { ...image, "mount-hostpath": "/opt/agent:/usr/local/bin/buildkite-agent" },
    message:
      /option `mount-hostpath` mounts \/usr\/local\/bin\/buildkite-agent, where the plugin mounts buildkite-agent \(`mount-buildkite-agent`\); choose another path/,
  },
  {
    name: "mount-secret over the build directory",
    plugin: { ...image, "mount-secret": "creds:/buildkite/builds/" },
    message:
      /option `mount-secret` mounts \/buildkite\/builds\/, where the plugin mounts the build directory/,
  },
  {
    name: "mount-secret over the checkout at workdir",
    plugin: { ...image, workdir: "/src", "mount-secret": "creds:/src/" },
    message:
      /option `mount-secret` mounts \/src\/, where the plugin mounts the checkout \(`workdir`\); choose another path/,
  },
  {
    name: "patch syntax error",
    plugin: { ...image, patch: "function(job) job +" },
    message: /option `patch`: jsonnet failed:\n.*syntax error/s,
  },
  {
    name: "patch runtime error with its location",
    plugin: { ...image, patch: "function(job)\n  error 'no thanks'" },
    message: /option `patch`: jsonnet failed:\nruntime error: no thanks\n\s+patch:2:3/,
  },
  {
    name: "patch not a function",
    plugin: { ...image, patch: "{a: 1}" },
    message: /only functions can be called/,
  },
  {
    name: "patch returns something else",
    plugin: { ...image, patch: "function(job) {kind: 'Pod'}" },
    message: /must return the Job \(apiVersion batch\/v1, kind Job\)/,
  },
  {
    name: "patch renames the Job",
    plugin: { ...image, patch: "function(job) job + {metadata+: {name: 'other'}}" },
    message: /the Job's name must stay "my-app-42-[0-9a-f]{10}", got "other"/,
  },
  {
    name: "pod-spec-patch list item without its merge key",
    plugin: { ...image, "pod-spec-patch": { containers: [{ image: "x" }] } },
    message: /option `pod-spec-patch`: containers\[0\] needs `name`/,
  },
  {
    name: "pod-spec-patch unsupported directive",
    plugin: { ...image, "pod-spec-patch": { $retainKeys: ["a"] } },
    message: /\$retainKeys is a patch directive this plugin does not support/,
  },
  {
    name: "artifact paths with the image's own entrypoint",
    plugin: { ...image, command: ["--flag"] },
    env: { BUILDKITE_COMMAND: "", BUILDKITE_ARTIFACT_PATHS: "out/*" },
    message: /artifact_paths, but its command is the image's own entrypoint/,
  },
];
for (const { name, plugin, env, message } of renderCases) {
  Deno.test(`bad input: ${name}`, async () => {
    const config = loadConfiguration(hookEnv(plugin, env));
    await assert.rejects(() => renderStep(config), (error: unknown) => {
      assert.ok(error instanceof UserError, `expected a UserError, got ${error}`);
      assert.match(error.message, message);
      assert.equal(error.exitStatus, EXIT.config.code);
      return true;
    });
  });
}

Deno.test("several mistakes are reported together", () => {
  assert.throws(
    () => loadConfiguration(hookEnv({ image: "", privileged: "no", namespace: "A" })),
    (error: unknown) => {
      const message = (error as Error).message;
      return /`image`/.test(message) && /`privileged`/.test(message) && /`namespace`/.test(message);
    },
  );
});
