/**
 * Names, labels and annotations of a step's Kubernetes objects. Names are DNS-1123 labels
 * unique per Buildkite job; label values are always valid, whatever the build says.
 *
 * @module
 */
import { PLUGIN_KEY_PREFIX } from "../config/metadata.ts";
import type { Step } from "../config/step.ts";
import { VERSION } from "../version.ts";

/** The label every object of this plugin carries, with value {@link PLUGIN_LABEL_VALUE}. */
export const PLUGIN_LABEL = `${PLUGIN_KEY_PREFIX}plugin`;
/** The value of {@link PLUGIN_LABEL}. */
export const PLUGIN_LABEL_VALUE = "kubernetes";
/** The label holding the Buildkite job id: how `cleanup` finds a step's Job. */
export const JOB_ID_LABEL = `${PLUGIN_KEY_PREFIX}job-id`;

const MAX_NAME = 63;
const HASH_LENGTH = 10;

/** Makes a DNS-1123 label from free text: lower case, `[a-z0-9-]`, no leading or trailing `-`. */
export function dnsLabel(text: string, maxLength = MAX_NAME): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-")
    .slice(0, maxLength).replace(/^-+|-+$/g, "");
}

/** Makes a valid label value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends. */
export function labelValue(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, MAX_NAME)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/**
 * The name of a step's Job (and Secret): `<pipeline>-<build number>-<hash of the job id>`,
 * at most 63 characters; the hash makes it unique per Buildkite job, retries included. The
 * Job that replaces a pod lost before the command started (`lost-pod-retries`) is the
 * `attempt`th, named `…-retry-<attempt>`.
 */
export async function jobName(
  step: Step,
  { attempt = 0 }: { attempt?: number } = {},
): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(step.jobId));
  const hash = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0"))
    .join("").slice(0, HASH_LENGTH);
  const suffix = attempt > 0 ? `-retry-${attempt}` : "";
  const pipeline = step.env.get("BUILDKITE_PIPELINE_SLUG") ?? "";
  const build = step.env.get("BUILDKITE_BUILD_NUMBER") ?? "";
  const prefix = dnsLabel(
    [pipeline, build].filter(Boolean).join("-") || "buildkite",
    MAX_NAME - HASH_LENGTH - 1 - suffix.length,
  ) || "buildkite";
  return `${prefix}-${hash}${suffix}`;
}

/**
 * The labels of a step's Job, pod and Secret: the build's facts the bash plugins labelled
 * (under `buildkite/` since 2.0, where they had `build/`), the job id and the plugin.
 */
export function labels(step: Step, name: string): Record<string, string> {
  const fromBuild: [string, string | undefined][] = [
    ["build-id", step.env.get("BUILDKITE_BUILD_ID")],
    ["repo", step.env.get("BUILDKITE_REPO")],
    ["branch", step.env.get("BUILDKITE_BRANCH")],
    ["pipeline", step.env.get("BUILDKITE_PIPELINE_SLUG")],
  ];
  const result: Record<string, string> = {};
  for (const [key, value] of fromBuild) {
    const sanitised = value === undefined ? "" : labelValue(value);
    if (sanitised !== "") result[PLUGIN_KEY_PREFIX + key] = sanitised;
  }
  result["job-name"] = name;
  result[PLUGIN_LABEL] = PLUGIN_LABEL_VALUE;
  result[JOB_ID_LABEL] = labelValue(step.jobId);
  return result;
}

/** The annotations of a step's Job and pod: the build's facts, unabridged, under `buildkite/`. */
export function annotations(step: Step, name: string): Record<string, string> {
  const fromBuild: [string, string][] = [
    ["commit", "BUILDKITE_COMMIT"],
    ["branch", "BUILDKITE_BRANCH"],
    ["pipeline", "BUILDKITE_PIPELINE_SLUG"],
    ["build-creator", "BUILDKITE_BUILD_CREATOR"],
    ["build-creator-email", "BUILDKITE_BUILD_CREATOR_EMAIL"],
    ["build-id", "BUILDKITE_BUILD_ID"],
    ["build-url", "BUILDKITE_BUILD_URL"],
    ["build-number", "BUILDKITE_BUILD_NUMBER"],
    ["organization", "BUILDKITE_ORGANIZATION_SLUG"],
    ["repo", "BUILDKITE_REPO"],
    ["source", "BUILDKITE_SOURCE"],
    ["agent-id", "BUILDKITE_AGENT_ID"],
    ["agent-name", "BUILDKITE_AGENT_NAME"],
    ["step-id", "BUILDKITE_STEP_ID"],
    ["step-key", "BUILDKITE_STEP_KEY"],
    ["label", "BUILDKITE_LABEL"],
  ];
  const result: Record<string, string> = {};
  for (const [key, variable] of fromBuild) {
    const value = step.env.get(variable);
    if (value !== undefined && value !== "") result[PLUGIN_KEY_PREFIX + key] = value;
  }
  result[`${PLUGIN_KEY_PREFIX}job-id`] = step.jobId;
  result[`${PLUGIN_KEY_PREFIX}plugin-version`] = VERSION;
  result["job-name"] = name;
  return result;
}
