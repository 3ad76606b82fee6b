/**
 * The operator's policy: what steps on this agent may ask for, set agent-wide in variables a
 * step's configuration cannot set (`BUILDKITE_KUBERNETES_PLUGIN_POLICY`, not one of the
 * `BUILDKITE_PLUGIN_KUBERNETES_*` defaults a step overrides), and the agent's own identity
 * (its ServiceAccount, the Secrets its chart created), which no step may use whatever the
 * policy says.
 *
 * @module
 */
import { z } from "zod";
import { UserError } from "../exit_status.ts";
import { readJobEnvironment } from "./env_file.ts";

/** The policy: one JSON object. */
export const POLICY_VARIABLE = "BUILDKITE_KUBERNETES_PLUGIN_POLICY";
/** The agent's ServiceAccount as `<namespace>/<name>` (else read from its token, in a pod). */
export const AGENT_SERVICE_ACCOUNT_VARIABLE = "BUILDKITE_KUBERNETES_PLUGIN_AGENT_SERVICE_ACCOUNT";
/** The agent's own Secrets, comma-separated names in the agent's namespace. */
export const AGENT_SECRETS_VARIABLE = "BUILDKITE_KUBERNETES_PLUGIN_AGENT_SECRETS";

const OPERATOR_VARIABLES = [
  POLICY_VARIABLE,
  AGENT_SERVICE_ACCOUNT_VARIABLE,
  AGENT_SECRETS_VARIABLE,
];

/** Where a pod's ServiceAccount token is mounted. */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

const NAME_PATTERN = /^[a-z0-9.*-]+$/;
const REGISTRY_PATTERN = /^[a-z0-9.:*-]+$/;

function patterns(what: string, shape: RegExp) {
  return z.array(
    z.string().regex(shape, {
      error: `must be a ${what} or a pattern of one with * for any characters`,
    }),
  );
}

/**
 * The rules, every one optional: a list left out allows anything, a boolean left out is
 * `true`. The chart's defaults are strict; see the README's security model.
 */
export const policySchema = z.strictObject({
  allowedNamespaces: patterns("namespace name", NAME_PATTERN).optional()
    .describe("Namespaces a step's Job may be created in."),
  allowedServiceAccounts: patterns("ServiceAccount name", NAME_PATTERN).optional()
    .describe("ServiceAccounts a step's pod may run as."),
  allowedSecrets: patterns("Secret name", NAME_PATTERN).optional()
    .describe(
      "Secrets a pod may use, whichever way (envFrom, env secretKeyRef, volumes, projected volumes, imagePullSecrets); the step's own per-step Secret is always allowed.",
    ),
  allowedHostPaths: z.array(
    z.string().regex(/^\/[^:]*$/, { error: "must be an absolute path" }),
  ).optional()
    .describe("Host directories a pod may mount: these or any path inside them."),
  allowedRegistries: patterns("registry host (host or host:port)", REGISTRY_PATTERN).optional()
    .describe(
      "Registries images may come from; an image without a registry is from docker.io.",
    ),
  allowedCapabilities: z.array(
    z.string().regex(/^[A-Z_]+$/, {
      error: "must be a capability name such as NET_ADMIN",
    }),
  ).optional()
    .describe("Capabilities a container may add."),
  allowPrivileged: z.boolean().default(true).describe("Whether containers may be privileged."),
  allowHostNamespaces: z.boolean().default(true)
    .describe("Whether a pod may use hostNetwork, hostPID or hostIPC."),
  allowPatches: z.boolean().default(true)
    .describe("Whether a step may use `pod-spec-patch` and `patch`."),
});

/** The rules of a policy, defaults applied. */
export type PolicyRules = z.output<typeof policySchema>;

/** The agent's own credentials, refused to every step. */
export interface AgentIdentity {
  /** The agent's namespace, when known: its Secrets and ServiceAccount are there. */
  namespace?: string;
  /** The agent's ServiceAccount name. */
  serviceAccount?: string;
  /** The names of the agent's own Secrets. */
  secrets: string[];
}

/** The operator's policy and the agent's identity. */
export interface Policy {
  /** The rules, defaults applied (all allowing when no policy is set). */
  rules: PolicyRules;
  /** Whether the operator set a policy at all. */
  set: boolean;
  /** The agent's own credentials. */
  agent: AgentIdentity;
}

/** `system:serviceaccount:<namespace>:<name>`, the subject of a ServiceAccount token. */
function tokenSubject(dir: string): { namespace: string; name: string } | undefined {
  let token: string;
  try {
    token = Deno.readTextFileSync(`${dir}/token`).trim();
  } catch {
    return undefined;
  }
  try {
    const payload = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const claims = JSON.parse(atob(payload)) as { sub?: string };
    const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? "");
    return match ? { namespace: match[1], name: match[2] } : undefined;
  } catch {
    return undefined;
  }
}

function agentIdentity(
  env: Record<string, string | undefined>,
  serviceAccountDir: string,
): AgentIdentity {
  const given = env[AGENT_SERVICE_ACCOUNT_VARIABLE];
  let account: { namespace?: string; name: string } | undefined;
  if (given) {
    const match = /^(?:([a-z0-9-]+)\/)?([a-z0-9.-]+)$/.exec(given);
    if (!match) {
      throw new UserError(
        `${AGENT_SERVICE_ACCOUNT_VARIABLE}=${
          JSON.stringify(given)
        } is not a ServiceAccount: expected <namespace>/<name> or <name>`,
      );
    }
    account = { namespace: match[1], name: match[2] };
  } else {
    account = tokenSubject(serviceAccountDir);
  }
  const secrets = (env[AGENT_SECRETS_VARIABLE] ?? "").split(",").map((name) => name.trim())
    .filter((name) => name !== "");
  return {
    namespace: account?.namespace ?? (env.POD_NAMESPACE || undefined),
    serviceAccount: account?.name,
    secrets,
  };
}

function parseRules(text: string): PolicyRules {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${POLICY_VARIABLE}: not a JSON object (${(error as Error).message})`);
  }
  const result = policySchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return `unknown rule ${issue.keys.map((key) => `\`${key}\``).join(", ")}; known rules: ${
        Object.keys(policySchema.shape).join(", ")
      }`;
    }
    let shown = value;
    for (const key of issue.path) shown = (shown as Record<PropertyKey, unknown>)?.[key];
    return `\`${path}\`: ${JSON.stringify(shown)} ${issue.message}`;
  });
  throw new UserError(
    `${POLICY_VARIABLE} is invalid:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
  );
}

/**
 * Reads the policy and the agent's identity from a hook's environment. A pipeline's or
 * step's `env` reaches the hook's environment too, over the agent's: such a variable in the
 * job's environment file is refused rather than obeyed.
 */
export function readPolicy(
  env: Record<string, string | undefined>,
  options: { serviceAccountDir?: string } = {},
): Policy {
  const job = readJobEnvironment(env);
  const overridden = OPERATOR_VARIABLES.filter((name) => job?.vars.has(name));
  if (job && overridden.length) {
    throw new UserError(
      `${overridden.join(", ")} ${
        overridden.length > 1 ? "are" : "is"
      } set by the pipeline or step (in ${job.source}): only the agent's operator may set ${
        overridden.length > 1 ? "them" : "it"
      }; remove it from the step's \`env\``,
    );
  }
  const text = env[POLICY_VARIABLE];
  return {
    rules: parseRules(text?.trim() ? text : "{}"),
    set: Boolean(text?.trim()),
    agent: agentIdentity(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR),
  };
}
