/**
 * Non-root steps: the pod's user, group and fsGroup from the options, and a checkout that
 * belongs to the user the step container runs as, so that it can write into it.
 *
 * @module
 */
import type { V1Container, V1Job, V1PodSecurityContext, V1PodSpec } from "@kubernetes/client-node";
import type { Options } from "../config/mod.ts";

/**
 * Where a checkout container running as another user than root keeps its home: the image's
 * own (`/root`) is not writable for it, and `git config --global` (git credentials) and
 * `buildkite-agent` (its job API socket) write there.
 */
export const NON_ROOT_HOME = "/tmp";

/** The pod's `securityContext` from `run-as-user`, `run-as-group` and `fs-group`. */
export function podSecurityContext(options: Options): V1PodSecurityContext | undefined {
  const context: V1PodSecurityContext = {
    runAsUser: options["run-as-user"],
    runAsGroup: options["run-as-group"],
    fsGroup: options["fs-group"],
  };
  return Object.values(context).some((value) => value !== undefined) ? context : undefined;
}

/**
 * Runs the checkout container as the user and group the step container runs as (its own
 * `securityContext`, else the pod's, as `pod-spec-patch` or the options left them), so the
 * files it checks out belong to the step's user. The checkout container's own settings win.
 */
export function checkoutAsStepUser(job: V1Job, names: { checkout: string; step: string }): V1Job {
  const pod = job.spec!.template.spec!;
  const step = pod.containers.find((container) => container.name === names.step);
  const checkout = pod.initContainers?.find((container) => container.name === names.checkout);
  if (step === undefined || checkout === undefined) return job;
  const user = checkout.securityContext?.runAsUser ?? step.securityContext?.runAsUser ??
    pod.securityContext?.runAsUser;
  const group = checkout.securityContext?.runAsGroup ?? step.securityContext?.runAsGroup ??
    pod.securityContext?.runAsGroup;
  if (user === undefined && group === undefined) {
    return nonRoot(pod, step, checkout) ? job : withCheckout(job, checkout, asRoot(checkout));
  }
  const runAs: V1Container = {
    ...checkout,
    securityContext: {
      ...checkout.securityContext,
      ...(user !== undefined ? { runAsUser: user } : {}),
      ...(group !== undefined ? { runAsGroup: group } : {}),
    },
    env: user === undefined || user === 0 || checkout.env?.some((e) => e.name === "HOME")
      ? checkout.env
      : [...(checkout.env ?? []), { name: "HOME", value: NON_ROOT_HOME }],
  };
  return withCheckout(job, checkout, runAs);
}

/** Whether the pod asks for a non-root user without naming one (the images' own then). */
function nonRoot(
  pod: V1PodSpec,
  step: V1Container,
  checkout: V1Container,
): boolean {
  return [pod.securityContext, step.securityContext, checkout.securityContext]
    .some((context) => context?.runAsNonRoot === true);
}

/**
 * The checkout as root, as the step container runs unless told otherwise: the checkout
 * image's own user (the agent image runs as `buildkite-agent`) would leave files the step
 * cannot own, and cannot read the Secret volumes, which are mounted root-owned 0400.
 */
function asRoot(checkout: V1Container): V1Container {
  return {
    ...checkout,
    securityContext: { ...checkout.securityContext, runAsUser: 0, runAsGroup: 0 },
  };
}

function withCheckout(job: V1Job, checkout: V1Container, replacement: V1Container): V1Job {
  const pod = job.spec!.template.spec!;
  return {
    ...job,
    spec: {
      ...job.spec!,
      template: {
        ...job.spec!.template,
        spec: {
          ...pod,
          initContainers: pod.initContainers!.map((container) =>
            container === checkout ? replacement : container
          ),
        },
      },
    },
  };
}
