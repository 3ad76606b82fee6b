/**
 * `render` of a configuration using every option, in process, after warm-up.
 * Run: `deno bench --allow-all bench/render_bench.ts`.
 *
 * @module
 */
import { loadConfiguration } from "../src/config/mod.ts";
import { renderStep } from "../src/render/mod.ts";
import { JOB_ENV } from "../tests/unit/helpers.ts";

const { BUILDKITE_AGENT_ACCESS_TOKEN: _, ...job } = JOB_ENV;
const jobVars = {
  ...job,
  BUILDKITE_TIMEOUT: "30",
  DATABASE_PASSWORD: "hunter2",
  ...Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`PIPELINE_VAR_${i}`, `value ${i}`])),
};
const envFile = `${Deno.makeTempDirSync()}/job.json`;
Deno.writeTextFileSync(envFile, JSON.stringify(jobVars));

/** Every option set (the two build-path volumes exclude each other; the PVC is used). */
const everyOption = {
  "image": "node:20",
  "always-pull": true,
  "entrypoint": ["/bin/bash", "-c"],
  "environment": ["A=1", "B=2"],
  "environment-from-secret": ["env-a", "env-b"],
  "init-environment-from-secret": "init-env",
  "init-image": "quay.io/muhlba91/buildkite-agent:2.0.0",
  "privileged": true,
  "agent-token-secret-name": "agent-token",
  "agent-token-secret-key": "token",
  "git-credentials-secret-name": "git-creds",
  "git-credentials-secret-key": "creds",
  "git-ssh-secret-name": "git-ssh",
  "git-ssh-secret-key": "id",
  "default-secret-name": "buildkite",
  "mount-hostpath": ["/var/cache/npm:/root/.npm", "/data:/data:ro"],
  "mount-secret": ["npmrc:/etc/npmrc"],
  "mount-buildkite-agent": true,
  "build-path-pvc": "builds",
  "git-mirrors-host-path": "/var/lib/mirrors",
  "resources-request-cpu": "500m",
  "resources-limit-cpu": "2",
  "resources-request-memory": "512Mi",
  "resources-limit-memory": "2Gi",
  "service-account-name": "builder",
  "use-agent-node-affinity": true,
  "workdir": "/workspace",
  "patch": "function(job) job + {metadata+: {labels+: {team: 'platform'}}}",
  "pod-spec-patch": { containers: [{ name: "step", env: [{ name: "EXTRA", value: "1" }] }] },
  "print-resulting-job-spec": true,
  "job-backoff-limit": 1,
  "job-ttl-seconds-after-finished": 600,
  "jobs-cleanup-via-plugin": false,
  "job-cleanup-after-finished-via-plugin": false,
  "namespace": "ci",
  "image-pull-secrets": ["registry"],
  "pending-timeout": 300,
  "image-pull-grace": 30,
  "agent-checkout": false,
};

const env = {
  BUILDKITE_ENV_JSON_FILE: envFile,
  BUILDKITE_AGENT_ACCESS_TOKEN: "token",
  BUILDKITE_AGENT_ENDPOINT: "https://agent.buildkite.com/v3",
  BUILDKITE_BUILD_PATH: "/buildkite/builds",
  BUILDKITE_JOB_ID: JOB_ENV.BUILDKITE_JOB_ID,
  BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify(everyOption),
  BUILDKITE_PLUGIN_KUBERNETES_SERVICE_ACCOUNT_NAME: "agent-wide",
};

Deno.bench("render: every option, env file, pod-spec-patch and jsonnet patch", async () => {
  const config = loadConfiguration(env);
  await renderStep(config, { redact: true });
});

Deno.bench("render: a minimal configuration", async () => {
  await renderStep(
    loadConfiguration({ ...env, BUILDKITE_PLUGIN_CONFIGURATION: '{"image":"alpine"}' }),
  );
});
