/**
 * Which of a step's variables are secrets, and the per-step Secret that carries them:
 * the job's agent access token and request headers, and every variable the agent would
 * redact. The Job refers to them with `secretKeyRef`, so no value appears in the Job.
 *
 * @module
 */
import type { V1EnvVar, V1Secret } from "@kubernetes/client-node";
import { isAgentCredential } from "../config/step.ts";
import { toBase64 } from "../text.ts";

/** The agent's default `--redacted-vars` patterns (buildkite-agent v3.137). */
export const DEFAULT_REDACTED_VARS: readonly string[] = [
  "*_PASSWORD",
  "*_SECRET",
  "*_TOKEN",
  "*_PRIVATE_KEY",
  "*_SSH_KEY",
  "*_ACCESS_KEY",
  "*_SECRET_KEY",
  "*_CONNECTION_STRING",
  "*_API_KEY",
];

/** What rendered objects show instead of a secret value. */
export const REDACTED = "[REDACTED]";

/** Go's `path.Match` glob as a regular expression: `*`, `?`, `[...]`, `\` escapes. */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "\\" && i + 1 < pattern.length) source += `\\${pattern[++i]}`;
    else if (char === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) return /(?!)/;
      source += `[${pattern.slice(i + 1, end)}]`;
      i = end;
    } else source += char.replace(/[.+^${}()|\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** The patterns of variable names to keep secret: the agent's defaults plus `BUILDKITE_REDACTED_VARS`. */
export function redactionPatterns(vars: ReadonlyMap<string, string>): RegExp[] {
  const configured = (vars.get("BUILDKITE_REDACTED_VARS") ?? "").split(",")
    .map((pattern) => pattern.trim()).filter(Boolean);
  return [...new Set([...DEFAULT_REDACTED_VARS, ...configured])].map(globToRegExp);
}

/** Whether a variable's value must travel in the Secret. */
export function isSecretVariable(name: string, patterns: readonly RegExp[]): boolean {
  return isAgentCredential(name) || patterns.some((pattern) => pattern.test(name));
}

/** A step's variables as container env entries, with secrets referenced from `secretName`. */
export interface SplitEnvironment {
  /** Env entries for the containers: plain values and `secretKeyRef`s. */
  env: V1EnvVar[];
  /** Secret key → value, for the per-step Secret; empty when nothing is secret. */
  secretData: Map<string, string>;
}

/**
 * Escapes `$` so the kubelet passes a value through unchanged: it expands `$(NAME)` and
 * turns `$$` into `$` in every `value`.
 */
export function escapeDollars(value: string): string {
  return value.replaceAll("$", "$$$$");
}

/**
 * Splits a step's variables into plain env entries and secret references; `secret` names
 * variables that are secret whatever their names (those hooks exported).
 */
export function splitEnvironment(
  vars: ReadonlyMap<string, string>,
  secretName: string,
  options: { secret?: ReadonlySet<string> } = {},
): SplitEnvironment {
  const patterns = redactionPatterns(vars);
  const env: V1EnvVar[] = [];
  const secretData = new Map<string, string>();
  for (const [name, value] of vars) {
    if (!isSecretVariable(name, patterns) && !options.secret?.has(name)) {
      env.push({ name, value: escapeDollars(value) });
      continue;
    }
    let key = name.replace(/[^-._a-zA-Z0-9]/g, "_");
    while (secretData.has(key)) key += "_";
    secretData.set(key, value);
    env.push({ name, valueFrom: { secretKeyRef: { name: secretName, key } } });
  }
  return { env, secretData };
}

/**
 * The per-step Secret, named, labelled and namespaced like its Job. With `redact`, for
 * display, every value is {@link REDACTED} under `stringData`, so the shown object is still a
 * valid Secret.
 */
export function buildSecret(
  metadata: { name: string; namespace?: string; labels: Record<string, string> },
  data: ReadonlyMap<string, string>,
  options: { redact: boolean },
): V1Secret {
  const values: Record<string, string> = {};
  for (const [key, value] of data) {
    values[key] = options.redact ? REDACTED : toBase64(value);
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: metadata.name,
      ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
      labels: metadata.labels,
    },
    type: "Opaque",
    ...(options.redact ? { stringData: values } : { data: values }),
  };
}
