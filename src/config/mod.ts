/**
 * A step's validated configuration: the merged plugin options and the Buildkite job,
 * checked together. Every mistake is reported at once, naming the option, where it came
 * from, its value and what is accepted.
 *
 * @module
 */
import { z, ZodObject, ZodOptional } from "zod";
import { UserError } from "../exit_status.ts";
import { normalizePath } from "../text.ts";
import { parseQuantity } from "./quantity.ts";
import { OPTION_NAMES, type OptionName, type Options, optionsSchema } from "./schema.ts";
import { type Policy, readPolicy } from "./policy.ts";
import { loadValueReader, readConfiguration } from "./sources.ts";
import { readStep, type Step } from "./step.ts";

export type { Options } from "./schema.ts";
export type { Step } from "./step.ts";

/** Everything a step's manifest is built from. */
export interface Configuration {
  /** The validated plugin options. */
  options: Options;
  /** The Buildkite job. */
  step: Step;
  /** Option name → where its value came from. */
  origins: Record<string, string>;
  /** Problems that do not stop the step. */
  warnings: string[];
  /** The operator's policy and the agent's identity, which the final Job must satisfy. */
  policy?: Policy;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The known option closest to a misspelt one, if any is close. */
export function suggestOption(name: string): string | undefined {
  const [best] = OPTION_NAMES.map((option) => ({ option, distance: editDistance(name, option) }))
    .sort((a, b) => a.distance - b.distance);
  return best && best.distance <= Math.max(2, Math.floor(name.length / 4))
    ? best.option
    : undefined;
}

/** How zod's expected types read to a pipeline author. */
const EXPECTED: Record<string, string> = {
  array: "a list",
  record: "an object (a mapping)",
  object: "an object (a mapping)",
  int: "a whole number",
  number: "a number",
  string: "a string",
  boolean: "true or false",
};

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  }
  return value;
}

/** Picks the alternative of a failed union that matches the shape the author wrote. */
function unionIssues(issue: z.core.$ZodIssueInvalidUnion, value: unknown): z.core.$ZodIssue[] {
  const alternatives = issue.errors;
  const matching = alternatives.find((issues) =>
    issues.every((inner) => inner.code !== "invalid_type" || inner.path.length > 0)
  );
  if (matching && matching.length > 0) return matching;
  const expected = alternatives.flatMap((issues) =>
    issues.filter((inner) => inner.code === "invalid_type").map((inner) =>
      (inner as z.core.$ZodIssueInvalidType).expected
    )
  );
  const described = [...new Set(expected)].map((type) =>
    type === "array" ? "a list of strings" : `a ${type}`
  );
  return [{
    code: "custom",
    path: [],
    message: `must be ${described.join(" or ")}, got ${typeName(value)}`,
    input: value,
  } as z.core.$ZodIssue];
}

/** The fields of an option that is a mapping with fixed keys (`metadata`). */
function objectShape(option: PropertyKey): Record<string, unknown> {
  let schema: z.ZodType = optionsSchema.shape[option as OptionName];
  if (schema instanceof ZodOptional) schema = schema.unwrap() as z.ZodType;
  return schema instanceof ZodObject ? schema.shape : {};
}

function itemPath(path: PropertyKey[]): string {
  return path.length > 0 ? ` item ${path.map((key) => `[${String(key)}]`).join("")}` : "";
}

function describeIssue(
  issue: z.core.$ZodIssue,
  values: Record<string, unknown>,
  origins: Record<string, string>,
): string[] {
  if (issue.code === "unrecognized_keys" && issue.path.length > 0) {
    const [option, ...rest] = issue.path;
    const known = rest.length === 0 ? Object.keys(objectShape(option)) : [];
    return issue.keys.map((key) =>
      `option \`${String(option)}\` (from ${origins[String(option)] ?? "the configuration"})${
        itemPath(rest)
      }: unknown key \`${key}\`${known.length > 0 ? `; known keys: ${known.join(", ")}` : ""}`
    );
  }
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const suggestion = suggestOption(key);
      return `unknown option \`${key}\` (from ${origins[key] ?? "the configuration"})` +
        (suggestion
          ? `: did you mean \`${suggestion}\`?`
          : `; known options: ${OPTION_NAMES.join(", ")}`);
    });
  }
  const [option, ...rest] = issue.path;
  const where = `option \`${String(option)}\` (from ${
    origins[String(option)] ?? "the configuration"
  })`;
  const value = valueAt(values, issue.path);
  if (issue.code === "invalid_union") {
    return unionIssues(issue, value).flatMap((inner) =>
      describeIssue({ ...inner, path: [...issue.path, ...inner.path] }, values, origins)
    );
  }
  const item = itemPath(rest);
  if (issue.code === "invalid_key") {
    // The key of a mapping is wrong, not the value under it: name the key.
    const key = show(String(rest.at(-1)));
    return issue.issues.map((inner) =>
      `${where}${itemPath(rest.slice(0, -1))}: key ${key} ${inner.message}`
    );
  }
  // The schema's own messages say what is accepted better than zod's generic ones.
  const custom = !/^(Invalid input|Too small|Too big)/.test(issue.message);
  if (issue.code === "invalid_type" && custom && value !== undefined) {
    return [`${where}${item}: ${show(value)} ${issue.message}`];
  }
  if (issue.code === "invalid_type") {
    const expected = EXPECTED[issue.expected] ?? `a ${issue.expected}`;
    if (value === undefined && rest.length > 0) return [`${where}${item} is required: ${expected}`];
    if (value === undefined) {
      return [
        `option \`${String(option)}\` is required: ${expected}, in the step's plugin configuration`,
      ];
    }
    return [`${where}${item}: expected ${expected}, got ${typeName(value)} ${show(value)}`];
  }
  if (issue.code === "too_small" && !custom && typeof value === "number") {
    return [`${where}${item}: ${show(value)} is too small, the least accepted is ${issue.minimum}`];
  }
  return [`${where}${item}: ${show(value)} ${issue.message}`];
}

/** Validates merged option values; throws one UserError listing every problem. */
export function validateOptions(
  values: Record<string, unknown>,
  origins: Record<string, string> = {},
): Options {
  const result = optionsSchema.safeParse(values);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describeIssue(issue, values, origins));
  throw new UserError(
    `invalid plugin configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
  );
}

/** Checks that need several options, or the options and the job, together. */
function crossCheck(options: Options, step: Step, origins: Record<string, string>): string[] {
  const problems: string[] = [];
  if (options.command && step.command) {
    problems.push(
      "option `command` cannot be used when the step has its own `command`; " +
        "use one of them (the plugin's `command` becomes the container's args)",
    );
  }
  if (options["build-path-host-path"] && options["build-path-pvc"]) {
    problems.push(
      "options `build-path-host-path` and `build-path-pvc` exclude each other; choose one",
    );
  }
  for (const resource of ["cpu", "memory"] as const) {
    const request = options[`resources-request-${resource}`];
    const limit = options[`resources-limit-${resource}`];
    if (request && limit && parseQuantity(request) > parseQuantity(limit)) {
      problems.push(
        `option \`resources-request-${resource}\` (${request}) is greater than ` +
          `\`resources-limit-${resource}\` (${limit}); a request must not exceed its limit`,
      );
    }
  }
  if (
    options["init-image"] === "" && origins["mount-buildkite-agent"] &&
    options["mount-buildkite-agent"]
  ) {
    problems.push(
      'option `mount-buildkite-agent: true` needs the checkout container, which `init-image: ""` disables',
    );
  }
  problems.push(...workdirProblems(options, step, origins));
  problems.push(...sidecarProblems(options, step));
  const mounts = [
    ...(options["mount-hostpath"] ?? []).map((spec) => ["mount-hostpath", spec.split(":")[1]]),
    ...(options["mount-secret"] ?? []).map((spec) => ["mount-secret", spec.split(":")[1]]),
  ];
  const seen = new Map<string, string>();
  for (const [option, path] of mounts) {
    const normalised = mountPathKey(path);
    if (seen.has(normalised)) {
      problems.push(
        `option \`${option}\` mounts ${normalised} twice (also in \`${
          seen.get(normalised)
        }\`); each path once`,
      );
    }
    seen.set(normalised, option);
  }
  return problems;
}

/** Sidecars the API server would refuse: two of one name, two mounts at one path. */
function sidecarProblems(options: Options, step: Step): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const [index, sidecar] of (options.sidecars ?? []).entries()) {
    const where = `option \`sidecars\` item [${index}]`;
    if (names.has(sidecar.name)) {
      problems.push(`${where}: the name "${sidecar.name}" is taken by another sidecar; each once`);
    }
    names.add(sidecar.name);
    const paths = new Set(sidecar["mount-checkout"] ? [mountPathKey(step.buildPath)] : []);
    for (const { mountPath } of sidecar.volumeMounts ?? []) {
      const path = mountPathKey(normalizePath(mountPath));
      if (paths.has(path)) {
        problems.push(
          `${where}: ${mountPath} is mounted twice${
            path === mountPathKey(step.buildPath)
              ? " (`mount-checkout` mounts the build directory there)"
              : ""
          }; each path once`,
        );
      }
      paths.add(path);
    }
  }
  return problems;
}

/** A mount path as Kubernetes compares them: `/data/` and `/data` are one path. */
export function mountPathKey(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

/** Whether the absolute `path` is `directory` or inside it. */
export function pathWithin(path: string, directory: string): boolean {
  const [inner, outer] = [path, directory].map((each) => mountPathKey(normalizePath(each)));
  return outer === "/" || inner === outer || inner.startsWith(`${outer}/`);
}

/**
 * Whether the checkout is mounted at `workdir`: the bash plugins' contract, the checkout at
 * `workdir`. A directory in the checkout already is the checkout; without a checkout
 * container (`init-image: ""`) there is none, and `workdir` is only the working directory.
 */
export function checkoutMountedAtWorkdir(options: Options, step: Step): boolean {
  return options.workdir !== undefined && options["init-image"] !== "" &&
    !pathWithin(options.workdir, step.checkoutPath);
}

/** What keeps the checkout from being mounted at `workdir`. */
function workdirProblems(options: Options, step: Step, origins: Record<string, string>): string[] {
  if (!checkoutMountedAtWorkdir(options, step)) return [];
  const where = `option \`workdir\` (from ${origins.workdir ?? "the configuration"})`;
  const { checkoutPath, buildPath } = step;
  if (pathWithin(checkoutPath, options.workdir!)) {
    return [
      `${where}: "${options.workdir}" holds the checkout directory ${checkoutPath}, which the ` +
      "checkout mounted at `workdir` would hide; give the checkout directory, a directory in " +
      "it, or a path outside it",
    ];
  }
  if (!pathWithin(checkoutPath, buildPath)) {
    return [
      `${where}: "${options.workdir}" gets the checkout mounted from the build volume, but the ` +
      `checkout directory (BUILDKITE_BUILD_CHECKOUT_PATH=${checkoutPath}) is outside the build ` +
      `directory (BUILDKITE_BUILD_PATH=${buildPath}); give a checkout directory inside it`,
    ];
  }
  return [];
}

/**
 * {@link loadConfiguration}, loading first what reading `env` needs (the YAML reader, when
 * an agent-wide value is YAML rather than JSON).
 */
export async function loadStepConfiguration(
  env: Record<string, string | undefined>,
): Promise<Configuration> {
  await loadValueReader(env);
  return loadConfiguration(env);
}

/**
 * Reads, merges and validates a step's whole configuration from a hook's environment;
 * {@link loadValueReader} must have seen `env` (or {@link loadStepConfiguration} be used).
 */
export function loadConfiguration(env: Record<string, string | undefined>): Configuration {
  const raw = readConfiguration(env);
  const options = validateOptions(raw.values, raw.origins);
  const step = readStep(env);
  const problems = crossCheck(options, step, raw.origins);
  if (problems.length > 0) {
    throw new UserError(
      `invalid plugin configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  const warnings = [...raw.warnings];
  if (
    step.artifactPaths !== undefined &&
    (options["init-image"] === "" || !options["mount-buildkite-agent"])
  ) {
    warnings.push(
      `the step's artifact_paths are uploaded by the step container's buildkite-agent, which ${
        options["init-image"] === "" ? '`init-image: ""`' : "`mount-buildkite-agent: false`"
      } leaves to the image ${options.image} to have on its PATH`,
    );
  }
  return { options, step, origins: raw.origins, warnings, policy: readPolicy(env) };
}
