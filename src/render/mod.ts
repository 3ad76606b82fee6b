/**
 * A step's configuration → the exact objects it creates: the Job, after `pod-spec-patch`
 * (and the checkout run as the step's user) and then `patch`, and the per-step Secret when the step has secret variables.
 *
 * @module
 */
import type { V1Job, V1OwnerReference, V1Secret } from "@kubernetes/client-node";
import type { Configuration } from "../config/mod.ts";
import { buildManifest, CHECKOUT_CONTAINER, type Placement, STEP_CONTAINER } from "./job.ts";
import { enforcePolicy } from "../policy/mod.ts";
import { applyJsonnetPatch, applyPodSpecPatch } from "./patch.ts";
import { checkoutAsStepUser } from "./run_as.ts";
import { buildSecret } from "./secret.ts";

export type { Placement } from "./job.ts";

/** The objects of one step. */
export interface Rendered {
  /** The Job, patched. */
  job: V1Job;
  /** The per-step Secret, when the step has secret variables. */
  secret?: V1Secret;
}

/**
 * Renders a step's objects, refused (78) when the final Job breaks the operator's policy
 * (`namespace`: where it is created). With `redact`, the Secret's values are replaced so the
 * result can be shown (`render`, `print-resulting-job-spec`); with `owner` (the agent's pod),
 * the Job is owned by it, so that deleting it deletes the Job; `attempt` names the Job that
 * replaces a lost pod (`lost-pod-retries`).
 */
export async function renderStep(
  config: Configuration,
  options: {
    placement?: Placement;
    redact?: boolean;
    owner?: V1OwnerReference;
    attempt?: number;
    namespace?: string;
  } = {},
): Promise<Rendered> {
  const manifest = await buildManifest(config, options.placement, { attempt: options.attempt });
  const built = manifest.job;
  let job = manifest.job;
  if (options.owner) {
    job = { ...job, metadata: { ...job.metadata, ownerReferences: [options.owner] } };
  }
  const podSpecPatch = config.options["pod-spec-patch"];
  if (podSpecPatch) job = applyPodSpecPatch(job, podSpecPatch);
  // After pod-spec-patch, which may set the step's user; `patch` (jsonnet) has the last word.
  job = checkoutAsStepUser(job, { checkout: CHECKOUT_CONTAINER, step: STEP_CONTAINER });
  const podSpecPatched = job;
  const patch = config.options.patch;
  if (patch) job = await applyJsonnetPatch(job, patch);
  enforcePolicy(config, { built, podSpecPatched, patched: job }, { namespace: options.namespace });
  if (manifest.secretData.size === 0) return { job };
  const { name, namespace, labels } = manifest.job.metadata!;
  const secret = buildSecret({ name: name!, namespace, labels: labels! }, manifest.secretData, {
    redact: options.redact ?? false,
  });
  return { job, secret };
}
