/**
 * Builders of hook environments for unit tests: a realistic Buildkite job around a
 * plugin configuration.
 *
 * @module
 */
import { type Configuration, loadConfiguration } from "../../src/config/mod.ts";

/** The variables a `command` hook sees for an ordinary job (without env files). */
export const JOB_ENV: Readonly<Record<string, string>> = {
  BUILDKITE: "true",
  CI: "true",
  BUILDKITE_JOB_ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  BUILDKITE_BUILD_ID: "0190a1b2-0000-7000-8000-000000000001",
  BUILDKITE_BUILD_NUMBER: "42",
  BUILDKITE_PIPELINE_SLUG: "my-app",
  BUILDKITE_ORGANIZATION_SLUG: "acme",
  BUILDKITE_PIPELINE_PROVIDER: "github",
  BUILDKITE_REPO: "git@github.com:acme/my-app.git",
  BUILDKITE_BRANCH: "main",
  BUILDKITE_COMMIT: "abc123",
  BUILDKITE_AGENT_NAME: "agent-1",
  BUILDKITE_AGENT_ENDPOINT: "https://agent.buildkite.com/v3",
  BUILDKITE_AGENT_ACCESS_TOKEN: "job-token-value",
  BUILDKITE_BUILD_PATH: "/buildkite/builds",
  BUILDKITE_COMMAND: "make test",
};

/** A hook environment: the job, the plugin configuration as JSON, and extra variables. */
export function hookEnv(
  plugin: Record<string, unknown> | undefined,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    ...JOB_ENV,
    ...(plugin ? { BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify(plugin) } : {}),
    ...extra,
  };
}

/** A loaded configuration for a plugin configuration (image defaults to alpine). */
export function configFor(
  plugin: Record<string, unknown>,
  extra: Record<string, string | undefined> = {},
): Configuration {
  return loadConfiguration(hookEnv({ image: "alpine:3", ...plugin }, extra));
}

/**
 * A hook environment as `buildkite-agent start` gives it: the job's variables in a
 * `BUILDKITE_ENV_JSON_FILE`, the agent's own (token, endpoint, build path) only in the
 * hook's environment.
 */
export function withJobEnvFile(
  jobVars: Record<string, string>,
  hookVars: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  const dir = Deno.makeTempDirSync({ prefix: "job-env-" });
  const file = `${dir}/job.json`;
  const { BUILDKITE_AGENT_ACCESS_TOKEN, BUILDKITE_AGENT_ENDPOINT, BUILDKITE_BUILD_PATH, ...job } =
    JOB_ENV;
  Deno.writeTextFileSync(file, JSON.stringify({ ...job, ...jobVars }));
  return {
    ...job,
    BUILDKITE_AGENT_ACCESS_TOKEN,
    BUILDKITE_AGENT_ENDPOINT,
    BUILDKITE_BUILD_PATH,
    ...hookVars,
    BUILDKITE_ENV_JSON_FILE: file,
  };
}
