/**
 * The operator's policy over a step's final Job, before anything is created: each refusal
 * names what asked for it (an option, `pod-spec-patch` or `patch`: the first stage of the
 * rendering where it appears), the field, the value and the rule. Pure.
 *
 * @module
 */
import type { V1Job } from "@kubernetes/client-node";
import type { Configuration } from "../config/mod.ts";
import { POLICY_VARIABLE } from "../config/policy.ts";
import { UserError } from "../exit_status.ts";
import { type Violation, violations } from "./rules.ts";

export { type Violation, violations } from "./rules.ts";

/** The Job at each stage of its rendering: as the options build it, then after each patch. */
export interface Stages {
  /** As the options build it. */
  built: V1Job;
  /** After `pod-spec-patch` (and the checkout run as the step's user). */
  podSpecPatched: V1Job;
  /** After the jsonnet `patch`: the Job that would be created. */
  patched: V1Job;
}

/** The options that can put each kind of value in the Job. */
const OPTIONS_OF: Record<Violation["kind"], string[]> = {
  namespace: ["namespace"],
  serviceAccount: ["service-account-name"],
  secret: [
    "environment-from-secret",
    "init-environment-from-secret",
    "mount-secret",
    "image-pull-secrets",
    "agent-token-secret-name",
    "git-credentials-secret-name",
    "git-ssh-secret-name",
    "default-secret-name",
    "sidecars",
  ],
  hostPath: ["mount-hostpath", "build-path-host-path", "git-mirrors-host-path"],
  registry: ["image", "init-image", "sidecars"],
  privileged: ["privileged"],
  hostNamespace: [],
  capability: [],
};

/**
 * Whether an option's value holds `value`: itself, an item of a list, a part of `a:b`, or a
 * string anywhere in an item that is an object (a sidecar).
 */
function holds(option: unknown, value: string): boolean {
  const items = Array.isArray(option) ? option : [option];
  return items.some((item) =>
    item === value || String(item) === value ||
    (typeof item === "string" && item.split(":").includes(value)) ||
    (typeof item === "object" && item !== null &&
      JSON.stringify(item).includes(JSON.stringify(value)))
  );
}

/** Which option of the step put a value there, with where that option came from. */
function optionCause(violation: Violation, config: Configuration): string {
  const options = config.options as Record<string, unknown>;
  const option = OPTIONS_OF[violation.kind].find((name) =>
    options[name] !== undefined && holds(options[name], violation.value)
  );
  if (option === undefined) {
    return violation.kind === "namespace"
      ? "the namespace of the cluster access"
      : "the plugin's options";
  }
  return `option \`${option}\` (from ${config.origins[option] ?? "the plugin's defaults"})`;
}

function key(violation: Violation): string {
  return `${violation.field}\u0000${violation.value}\u0000${violation.rule}`;
}

/**
 * Throws one UserError (exit 78) listing what the final Job asks for that the operator's
 * policy, or the agent's own identity, refuses; `namespace` is where the Job is created.
 */
export function enforcePolicy(
  config: Configuration,
  stages: Stages,
  options: { namespace?: string } = {},
): void {
  const policy = config.policy;
  if (!policy) return;
  const problems: string[] = [];
  if (!policy.rules.allowPatches) {
    for (const option of ["pod-spec-patch", "patch"] as const) {
      if (config.options[option] === undefined) continue;
      problems.push(
        `option \`${option}\` (from ${
          config.origins[option] ?? "the plugin's defaults"
        }): patches are not allowed (allowPatches: false)`,
      );
    }
  }
  const found = (job: V1Job) =>
    new Set(violations({ job, namespace: options.namespace }, policy).map(key));
  const built = found(stages.built);
  const podSpecPatched = found(stages.podSpecPatched);
  for (
    const violation of violations({ job: stages.patched, namespace: options.namespace }, policy)
  ) {
    const cause = built.has(key(violation))
      ? optionCause(violation, config)
      : podSpecPatched.has(key(violation))
      ? "`pod-spec-patch`"
      : "`patch`";
    problems.push(
      `${cause}: ${violation.field} is ${
        JSON.stringify(violation.value)
      }, which is refused: ${violation.rule}`,
    );
  }
  if (!problems.length) return;
  const source = policy.set ? `the operator's policy (${POLICY_VARIABLE})` : "the agent";
  throw new UserError(
    `${source} refuses this step; nothing was created:\n${
      problems.map((problem) => `  - ${problem}`).join("\n")
    }`,
  );
}
