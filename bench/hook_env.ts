/**
 * The environment a Buildkite agent gives a plugin's hooks, built for one benchmark job:
 * the job's `BUILDKITE_*` variables, the plugin's configuration as JSON and as flattened
 * `BUILDKITE_PLUGIN_KUBERNETES_*` variables (the bash plugin reads only those), and the
 * job environment files (`BUILDKITE_ENV_FILE`, Go-quoted, which the bash plugin parses, and
 * its JSON twin `BUILDKITE_ENV_JSON_FILE`).
 *
 * @module
 */

/** The plugin source written in the pipeline, as `BUILDKITE_PLUGINS` carries it. */
export const PLUGIN_SOURCE = "github.com/muhlba91/kubernetes-buildkite-plugin#v2.0.0";

/** The prefix of the flattened configuration variables of a plugin named `kubernetes`. */
export const FLATTENED_PREFIX = "BUILDKITE_PLUGIN_KUBERNETES_";

/** The agent's key formatting: upper case, `-` and whitespace as `_`. */
function envKey(name: string): string {
  return name.toUpperCase().replace(/[-\s]/g, "_");
}

/**
 * The agent's flattened variables for a plugin configuration: nested objects as `_KEY_SUB`,
 * arrays as `_KEY_0`, `_KEY_1`…, booleans `true`/`false`, numbers as written; empty arrays
 * and objects give nothing.
 */
export function flattenConfiguration(
  prefix: string,
  config: Record<string, unknown>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  const visit = (name: string, value: unknown) => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(`${name}_${index}`, item));
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) visit(`${name}_${envKey(key)}`, item);
    } else if (value !== null && value !== undefined) {
      flat[name] = String(value);
    }
  };
  for (const [key, value] of Object.entries(config)) visit(`${prefix}${envKey(key)}`, value);
  return flat;
}

const GO_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  "\\": "\\\\",
  '"': '\\"',
};

/**
 * Go's `strconv.Quote` for the values a benchmark job has: the escapes above, other control
 * characters as `\xNN`, everything else as is.
 */
export function goQuote(value: string): string {
  let quoted = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char in GO_ESCAPES) quoted += GO_ESCAPES[char];
    else if (code < 0x20 || code === 0x7f) quoted += `\\x${code.toString(16).padStart(2, "0")}`;
    else quoted += char;
  }
  return `${quoted}"`;
}

/** The text of a `BUILDKITE_ENV_FILE`: one `KEY="value"` line per variable. */
export function envFileText(vars: Record<string, string>): string {
  return Object.entries(vars).map(([key, value]) => `${key}=${goQuote(value)}\n`).join("");
}

/** What describes one benchmark job. */
export interface JobDescription {
  /** `BUILDKITE_JOB_ID`: a fresh UUID per job. */
  jobId: string;
  /** The step's command. */
  command: string;
  /** The plugin's configuration in the pipeline. */
  plugin: Record<string, unknown>;
}

/**
 * The job's variables as the agent writes them into the job environment files: the build's
 * and step's `BUILDKITE_*` metadata, `BUILDKITE_PLUGINS`, `BUILDKITE_COMMAND` and the
 * pipeline's `env` (here one variable).
 */
export function jobVariables(job: JobDescription): Record<string, string> {
  return {
    BUILDKITE: "true",
    CI: "true",
    BUILDKITE_JOB_ID: job.jobId,
    BUILDKITE_BUILD_ID: "0190a1b2-0000-7000-8000-000000000001",
    BUILDKITE_BUILD_NUMBER: "1",
    BUILDKITE_BUILD_URL: "https://buildkite.com/acme/bench/builds/1",
    BUILDKITE_BUILD_CREATOR: "Bench",
    BUILDKITE_BUILD_CREATOR_EMAIL: "bench@example.com",
    BUILDKITE_BRANCH: "main",
    BUILDKITE_COMMIT: "HEAD",
    BUILDKITE_MESSAGE: "benchmark",
    BUILDKITE_REPO: "https://example.com/acme/bench.git",
    BUILDKITE_SOURCE: "ui",
    BUILDKITE_ORGANIZATION_SLUG: "acme",
    BUILDKITE_PIPELINE_SLUG: "bench",
    BUILDKITE_PIPELINE_PROVIDER: "git",
    BUILDKITE_STEP_ID: "0190a1b2-0000-7000-8000-000000000002",
    BUILDKITE_STEP_KEY: "bench",
    BUILDKITE_LABEL: "bench",
    BUILDKITE_TIMEOUT: "false",
    BUILDKITE_COMMAND: job.command,
    BUILDKITE_PLUGINS: JSON.stringify([{ [PLUGIN_SOURCE]: job.plugin }]),
    BENCH_PIPELINE_VARIABLE: 'a value with spaces and "quotes"',
  };
}

/** Where a hook runs. */
export interface HookHost {
  /** PATH for the hook: kubectl, jq and jsonnet for the bash plugin. */
  path: string;
  /** HOME: kubectl's discovery cache and Deno's cache live under it. */
  home: string;
  /** The kubeconfig the hook uses. */
  kubeconfig: string;
  /** Where the job environment files were written. */
  envFile: string;
  /** The JSON twin of `envFile`. */
  envJsonFile: string;
}

/**
 * The whole environment of a plugin hook: the host's few variables, the agent's own
 * (`BUILDKITE_AGENT_*`, build path), the job's variables, and the plugin's configuration.
 */
export function hookEnvironment(job: JobDescription, host: HookHost): Record<string, string> {
  return {
    PATH: host.path,
    HOME: host.home,
    LANG: "C.UTF-8",
    KUBECONFIG: host.kubeconfig,
    ...jobVariables(job),
    BUILDKITE_AGENT_NAME: "bench-agent-1",
    BUILDKITE_AGENT_ID: "0190a1b2-0000-7000-8000-000000000003",
    BUILDKITE_AGENT_ACCESS_TOKEN: "bkaj_benchmark-job-token",
    BUILDKITE_AGENT_ENDPOINT: "https://agent.buildkite.com/v3",
    BUILDKITE_BUILD_PATH: "/buildkite/builds",
    BUILDKITE_BUILD_CHECKOUT_PATH: "/buildkite/builds/bench-agent-1/acme/bench",
    BUILDKITE_ENV_FILE: host.envFile,
    BUILDKITE_ENV_JSON_FILE: host.envJsonFile,
    BUILDKITE_PLUGIN_NAME: "KUBERNETES",
    BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify(job.plugin),
    ...flattenConfiguration(FLATTENED_PREFIX, job.plugin),
  };
}

/** Writes the job environment files of `job` into `dir`; returns their paths. */
export async function writeJobEnvironmentFiles(
  dir: string,
  job: JobDescription,
): Promise<{ envFile: string; envJsonFile: string }> {
  const vars = jobVariables(job);
  const envFile = `${dir}/job-${job.jobId}.env`;
  const envJsonFile = `${dir}/job-${job.jobId}.json`;
  await Deno.writeTextFile(envFile, envFileText(vars));
  await Deno.writeTextFile(envJsonFile, JSON.stringify(vars));
  return { envFile, envJsonFile };
}
