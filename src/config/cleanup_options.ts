/**
 * The few options the `pre-exit` hook's cleanup reads, without the option schema (the
 * cleanup runs after every step, and loads only what it needs): the same sources in the same
 * order as the whole configuration, the step's own configuration over the agent-wide
 * `BUILDKITE_PLUGIN_KUBERNETES_*` variables over the defaults, which a test holds equal to
 * the schema's.
 *
 * @module
 */
import { UserError } from "../exit_status.ts";
import { envKey, FLAT_PREFIX, stepConfiguration } from "./step_configuration.ts";

/** What the cleanup does, and where. */
export interface CleanupOptions {
  /** The `namespace` option, if given. */
  namespace?: string;
  /** `job-cleanup-after-finished-via-plugin`. */
  "job-cleanup-after-finished-via-plugin": boolean;
  /** `jobs-cleanup-via-plugin`. */
  "jobs-cleanup-via-plugin": boolean;
  /** `BUILDKITE_JOB_ID`: whose Job to delete. */
  jobId: string;
}

/** The schema's defaults of the cleanup's options. */
export const CLEANUP_DEFAULTS = {
  "job-cleanup-after-finished-via-plugin": true,
  "jobs-cleanup-via-plugin": true,
} as const;

/** A namespace name, as the schema's `namespace` accepts it. */
const NAMESPACE = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Env = Record<string, string | undefined>;

/** An option's value and where it came from: the step's configuration, else its variable. */
function lookup(
  env: Env,
  step: ReturnType<typeof stepConfiguration>,
  name: string,
): { value: unknown; origin: string } | undefined {
  if (step && name in step.values) return { value: step.values[name], origin: step.source };
  const variable = FLAT_PREFIX + envKey(name);
  const value = env[variable];
  return value === undefined ? undefined : { value, origin: variable };
}

function flag(
  env: Env,
  step: ReturnType<typeof stepConfiguration>,
  name: keyof typeof CLEANUP_DEFAULTS,
) {
  const found = lookup(env, step, name);
  if (!found) return CLEANUP_DEFAULTS[name];
  const { value, origin } = found;
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value)) {
    return value.toLowerCase() === "true";
  }
  throw new UserError(
    `option \`${name}\` (from ${origin}): ${JSON.stringify(value)} is not true or false`,
  );
}

/** Reads the cleanup's options from a hook's environment. */
export function cleanupOptions(env: Env): CleanupOptions {
  const step = stepConfiguration(env);
  const jobId = env.BUILDKITE_JOB_ID;
  if (!jobId) throw new UserError("BUILDKITE_JOB_ID is not set: run this from a Buildkite job");
  const namespace = lookup(env, step, "namespace");
  if (namespace && (typeof namespace.value !== "string" || !NAMESPACE.test(namespace.value))) {
    throw new UserError(
      `option \`namespace\` (from ${namespace.origin}): ${
        JSON.stringify(namespace.value)
      } must be a namespace name (lower-case letters, digits and '-', at most 63)`,
    );
  }
  return {
    namespace: namespace?.value as string | undefined,
    "job-cleanup-after-finished-via-plugin": flag(
      env,
      step,
      "job-cleanup-after-finished-via-plugin",
    ),
    "jobs-cleanup-via-plugin": flag(env, step, "jobs-cleanup-via-plugin"),
    jobId,
  };
}
