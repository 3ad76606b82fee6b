/**
 * The Buildkite job a hook runs for: its identity, command, timeout, paths and the
 * environment its pod gets. Read from the agent's environment and job environment files.
 *
 * @module
 */
import { UserError } from "../exit_status.ts";
import { type JobEnvironment, readJobEnvironment } from "./env_file.ts";
import { exportedByHooks } from "./hook_exports.ts";

/** The build directory inside the pod when the agent does not say where its own is. */
export const DEFAULT_BUILD_PATH = "/buildkite/builds";

/**
 * Agent configuration the pod's `buildkite-agent bootstrap` and `buildkite-agent`
 * subcommands read, copied from the hook's environment. The agent adds these after it
 * writes the job environment files, so they are not in them.
 */
export const AGENT_VARIABLES: readonly string[] = [
  "BUILDKITE_AGENT_ENDPOINT",
  "BUILDKITE_AGENT_NAME",
  "BUILDKITE_AGENT_ID",
  "BUILDKITE_AGENT_DEBUG",
  "BUILDKITE_AGENT_DEBUG_HTTP",
  "BUILDKITE_AGENT_EXPERIMENT",
  "BUILDKITE_AGENT_META_DATA_QUEUE",
  "BUILDKITE_REDACTED_VARS",
  "BUILDKITE_SSH_KEYSCAN",
  "BUILDKITE_SKIP_CHECKOUT",
  "BUILDKITE_CHECKOUT_ATTEMPTS",
  "BUILDKITE_CHECKOUT_OVERRIDE_MODE",
  "BUILDKITE_GIT_CHECKOUT_FLAGS",
  "BUILDKITE_GIT_CHECKOUT_TIMEOUT",
  "BUILDKITE_GIT_CLEAN_FLAGS",
  "BUILDKITE_GIT_CLONE_FLAGS",
  "BUILDKITE_GIT_CLONE_MIRROR_FLAGS",
  "BUILDKITE_GIT_COMMIT_VERIFICATION",
  "BUILDKITE_GIT_FETCH_FLAGS",
  "BUILDKITE_GIT_LFS_ENABLED",
  "BUILDKITE_GIT_MIRROR_CHECKOUT_MODE",
  "BUILDKITE_GIT_MIRRORS_LOCK_TIMEOUT",
  "BUILDKITE_GIT_MIRRORS_SKIP_UPDATE",
  "BUILDKITE_GIT_SKIP_FETCH_EXISTING_COMMITS",
  "BUILDKITE_GIT_SPARSE_CHECKOUT_MODE",
  "BUILDKITE_GIT_SPARSE_CHECKOUT_PATHS",
  "BUILDKITE_GIT_SUBMODULES",
  "BUILDKITE_GIT_SUBMODULE_CLONE_CONFIG",
  "BUILDKITE_LOCAL_HOOKS_ENABLED",
  "BUILDKITE_COMMAND_EVAL",
  "BUILDKITE_PLUGINS_ENABLED",
  "BUILDKITE_STRICT_SINGLE_HOOKS",
  "BUILDKITE_TRACE_CONTEXT_ENCODING",
  "BUILDKITE_TRACING_BACKEND",
  "BUILDKITE_TRACING_SERVICE_NAME",
  "BUILDKITE_NO_MULTIPART_ARTIFACT_UPLOAD",
  "BUILDKITE_ARTIFACT_UPLOAD_CONCURRENCY",
  "BUILDKITE_ARTIFACT_UPLOAD_DESTINATION",
];

/**
 * Variables that describe the agent's host, not the job: paths, pids, sockets, hook
 * state, and the registration token. They never reach the pod.
 */
const HOST_VARIABLES = new Set([
  "BUILDKITE_AGENT_PID",
  "BUILDKITE_AGENT_TOKEN",
  "BUILDKITE_AGENT_JOB_API_SOCKET",
  "BUILDKITE_AGENT_JOB_API_TOKEN",
  "BUILDKITE_AGENT_JOB_TIMEOUT_FILE",
  "BUILDKITE_AGENT_CACHE_PATHS",
  "BUILDKITE_AGENT_PROFILE",
  "BUILDKITE_AGENT_JWKS_FILE",
  "BUILDKITE_AGENT_JWKS_KEY_ID",
  "BUILDKITE_AGENT_AWS_KMS_KEY",
  "BUILDKITE_AGENT_GCP_KMS_KEY",
  "BUILDKITE_BIN_PATH",
  "BUILDKITE_CONFIG_PATH",
  "BUILDKITE_BUILD_PATH",
  "BUILDKITE_BUILD_CHECKOUT_PATH",
  "BUILDKITE_SOCKETS_PATH",
  "BUILDKITE_GIT_MIRRORS_PATH",
  "BUILDKITE_HOOKS_PATH",
  "BUILDKITE_ADDITIONAL_HOOKS_PATHS",
  "BUILDKITE_PLUGINS_PATH",
  "BUILDKITE_ENV_FILE",
  "BUILDKITE_ENV_JSON_FILE",
  "BUILDKITE_JOB_CONTEXT_DIR",
  "BUILDKITE_PLUGIN_CONFIGURATION",
  "BUILDKITE_PLUGIN_NAME",
  "BUILDKITE_PLUGIN_VALIDATION",
  "BUILDKITE_LAST_HOOK_EXIT_STATUS",
  "BUILDKITE_COMMAND_EXIT_STATUS",
  "BUILDKITE_SHELL",
  "BUILDKITE_HOOKS_SHELL",
  "BUILDKITE_PTY",
  "BUILDKITE_CANCEL_SIGNAL",
  "BUILDKITE_CANCEL_GRACE_PERIOD",
  "BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS",
  "BUILDKITE_CONTAINER_ID",
]);

/** Whether a variable of the hook's environment describes the agent's host, not the job. */
export function isHostVariable(name: string): boolean {
  return HOST_VARIABLES.has(name) ||
    (name.startsWith("BUILDKITE_PLUGIN_") && name !== "BUILDKITE_PLUGINS") ||
    name.startsWith("BUILDKITE_KUBERNETES_PLUGIN_");
}

/** Whether a variable is a credential of the agent that must travel in a Secret. */
export function isAgentCredential(name: string): boolean {
  return name === "BUILDKITE_AGENT_ACCESS_TOKEN" || name.startsWith("BUILDKITE_REQUEST_HEADER_");
}

/** The Buildkite job a hook runs for, as plain data. */
export interface Step {
  /** `BUILDKITE_JOB_ID`. */
  jobId: string;
  /** `BUILDKITE_COMMAND`, when the step has a top-level command. */
  command?: string;
  /** `BUILDKITE_ARTIFACT_PATHS`, when the step uploads artifacts. */
  artifactPaths?: string;
  /** The step's timeout in minutes, when it has one. */
  timeoutMinutes?: number;
  /** The build directory inside the pod. */
  buildPath: string;
  /** The checkout directory inside the pod, by the agent's own rule. */
  checkoutPath: string;
  /** Every variable the pod's containers get, credentials included, in a stable order. */
  env: Map<string, string>;
  /**
   * Variables that hooks exported (a secrets plugin's `environment` hook): they travel in
   * the per-step Secret whatever their names, since they are often credentials.
   */
  exported: ReadonlySet<string>;
  /** Where the job's variables came from, for messages. */
  envSource: string;
}

/** The agent's checkout directory name for an agent name: each non-alphanumeric character becomes `-`. */
export function agentDirectoryName(agentName: string): string {
  return Array.from(agentName, (char) => /[A-Za-z0-9]/.test(char) ? char : "-").join("");
}

function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value === "" || value === "false" || value === "0") return undefined;
  if (!/^[0-9]+$/.test(value)) {
    throw new UserError(
      `BUILDKITE_TIMEOUT="${value}" is not a number of minutes (expected a whole number, or "false" for no timeout)`,
    );
  }
  return Number(value);
}

/** The job's variables when the agent wrote no job environment file: the job's `BUILDKITE_*` ones. */
function jobVariablesFromHookEnvironment(env: Record<string, string | undefined>): JobEnvironment {
  const vars = new Map<string, string>();
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (value === undefined || isHostVariable(name) || isAgentCredential(name)) continue;
    if (name.startsWith("BUILDKITE_") || name === "BUILDKITE" || name === "CI") {
      vars.set(name, value);
    }
  }
  return { vars, propagate: [], source: "the hook's BUILDKITE_* variables (no job env file)" };
}

/** Reads the Buildkite job from a hook's environment. */
export function readStep(env: Record<string, string | undefined>): Step {
  const job = readJobEnvironment(env) ?? jobVariablesFromHookEnvironment(env);
  const lookup = (name: string) => job.vars.get(name) ?? env[name];

  const jobId = lookup("BUILDKITE_JOB_ID");
  if (!jobId) {
    throw new UserError(
      "BUILDKITE_JOB_ID is not set: run this from a Buildkite job, or set it (any unique id) to render by hand",
    );
  }

  const vars = new Map<string, string>();
  for (const [name, value] of job.vars) {
    if (!isHostVariable(name)) vars.set(name, value);
  }
  const propagated = [...AGENT_VARIABLES, ...job.propagate.filter((name) => !isHostVariable(name))];
  for (const name of propagated) {
    const value = env[name];
    if (value !== undefined && !vars.has(name)) vars.set(name, value);
  }
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (value !== undefined && isAgentCredential(name)) vars.set(name, value);
  }
  const exported = new Set<string>();
  for (const [name, value] of exportedByHooks(env)) {
    // A job variable a hook changed takes the hook's value, as the command would see it.
    vars.set(name, value);
    exported.add(name);
  }

  const buildPath = env.BUILDKITE_BUILD_PATH || DEFAULT_BUILD_PATH;
  const checkoutPath = job.vars.get("BUILDKITE_BUILD_CHECKOUT_PATH") || [
    buildPath.replace(/\/+$/, ""),
    agentDirectoryName(lookup("BUILDKITE_AGENT_NAME") ?? ""),
    lookup("BUILDKITE_ORGANIZATION_SLUG") ?? "",
    lookup("BUILDKITE_PIPELINE_SLUG") ?? "",
  ].join("/");
  vars.set("BUILDKITE_BUILD_PATH", buildPath);
  vars.set("BUILDKITE_BUILD_CHECKOUT_PATH", checkoutPath);

  const command = lookup("BUILDKITE_COMMAND") || undefined;
  if (command && lookup("BUILDKITE_COMMAND_EVAL") === "false") {
    throw new UserError(
      "this agent forbids running commands (BUILDKITE_COMMAND_EVAL=false), and the step has a command",
    );
  }

  return {
    jobId,
    command,
    artifactPaths: lookup("BUILDKITE_ARTIFACT_PATHS")?.trim() || undefined,
    timeoutMinutes: parseTimeout(lookup("BUILDKITE_TIMEOUT")),
    buildPath,
    checkoutPath,
    env: vars,
    exported,
    envSource: job.source,
  };
}
