/**
 * The labels and annotations of a step's Job and pod: the plugin's own (names.ts), the
 * pipeline's `metadata` over them, and the pod's eviction and injection annotations.
 *
 * @module
 */
import type { Configuration } from "../config/mod.ts";
import { annotations, labels } from "./names.ts";

/** The annotation the cluster autoscaler reads before evicting a pod to remove its node. */
export const SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict";

/** The labels and annotations of a step's objects. */
export interface StepMetadata {
  /** The labels of the Job, its pod and its Secret. */
  labels: Record<string, string>;
  /** The Job's annotations. */
  jobAnnotations: Record<string, string>;
  /** The pod's annotations. */
  podAnnotations: Record<string, string>;
}

/**
 * A step's labels and annotations. The pipeline's `metadata` wins over the plugin's
 * defaults (`safe-to-evict`, `sidecar.istio.io/inject`); the keys the plugin identifies the
 * step by cannot be given (the schema refuses them), so they cannot be overridden.
 */
export function stepMetadata(config: Configuration, name: string): StepMetadata {
  const { options, step } = config;
  const own = annotations(step, name);
  const wanted = options.metadata ?? {};
  return {
    labels: { ...labels(step, name), ...wanted.labels },
    jobAnnotations: { ...own, ...wanted.annotations },
    podAnnotations: {
      ...own,
      "sidecar.istio.io/inject": "false",
      [SAFE_TO_EVICT_ANNOTATION]: String(options["safe-to-evict"]),
      ...wanted.annotations,
    },
  };
}
