/**
 * What Kubernetes accepts as label and annotation keys and values, and which keys are the
 * plugin's own or the Job controller's: the checks behind the `metadata` option.
 *
 * @module
 */

/** The prefix of every label and annotation key the plugin sets itself. */
export const PLUGIN_KEY_PREFIX = "buildkite/";

/**
 * A qualified name, as Kubernetes checks label and annotation keys: an optional DNS-1123
 * subdomain prefix (at most 253) and `/`, then a name of at most 63 of `[A-Za-z0-9._-]`,
 * alphanumeric at both ends.
 */
export const QUALIFIED_NAME_PATTERN =
  /^((?=[^/]{1,253}\/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(?=[^/]{1,63}$)([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** A label value: empty, or at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends. */
export const LABEL_VALUE_PATTERN = /^(?=.{0,63}$)(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** How many bytes of annotation keys and values one object may carry (256 KiB). */
export const ANNOTATIONS_SIZE_LIMIT = 256 * 1024;

/** Label keys the Job controller sets on a Job's pods. */
const JOB_CONTROLLER_KEYS = new Set(["job-name", "controller-uid"]);
const JOB_CONTROLLER_PREFIX = "batch.kubernetes.io/";

/**
 * Why a key is not the pipeline's to set, or undefined when it is. The plugin's own keys
 * identify the step's Job (cleanup finds it by `buildkite/job-id` and `buildkite/plugin`);
 * the Job controller's select the Job's pods.
 */
export function reservedKey(key: string): string | undefined {
  if (key.startsWith(PLUGIN_KEY_PREFIX)) {
    return `is reserved: keys under ${PLUGIN_KEY_PREFIX} are the plugin's own (the Buildkite ` +
      "facts, and buildkite/job-id and buildkite/plugin, by which cleanup finds the step's Job); " +
      "choose another prefix";
  }
  if (JOB_CONTROLLER_KEYS.has(key) || key.startsWith(JOB_CONTROLLER_PREFIX)) {
    return "is reserved: Kubernetes' Job controller sets it (job-name, controller-uid, " +
      `${JOB_CONTROLLER_PREFIX}…); choose another key`;
  }
  return undefined;
}

/** The bytes of annotation keys and values, as Kubernetes counts them against its limit. */
export function annotationsSize(annotations: Record<string, string>): number {
  const encoder = new TextEncoder();
  return Object.entries(annotations).reduce(
    (total, [key, value]) => total + encoder.encode(key).length + encoder.encode(value).length,
    0,
  );
}
