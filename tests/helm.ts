/**
 * The pinned helm and kubectl (from `scripts/build-binaries`), run on this repository's
 * charts by the chart tests, unit and integration alike.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Binaries, parseBinaryPaths, REPOSITORY_ROOT } from "./cluster/binaries.ts";

const BUILD_BINARIES = join(REPOSITORY_ROOT, "scripts/build-binaries");

/**
 * The Kubernetes version the project tests against. helm needs it: built from source, it
 * assumes v1.20, older than the charts' kubeVersion.
 */
export const KUBERNETES_VERSION: string = readFileSync(BUILD_BINARIES, "utf8")
  .match(/^KUBERNETES_VERSION=(\S+)$/m)![1];

/** The path of one pinned binary; asks only for it, as the others need not be built. */
export function binaryPath(name: "helm" | "kubectl"): string {
  const result = spawnSync(BUILD_BINARIES, ["--paths", "--only", name], { encoding: "utf8" });
  const path = parseBinaryPaths(result.stdout)[name as keyof Binaries];
  assert.ok(
    result.status === 0 && path,
    `${name} is not built: run ${BUILD_BINARIES} --only ${name}`,
  );
  return path;
}

/** What `run` saw. */
export interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in the repository root. */
export function run(command: string, args: string[], input?: string): Outcome {
  const result = spawnSync(command, args, { cwd: REPOSITORY_ROOT, encoding: "utf8", input });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs helm in the repository root and returns its output; fails the test if helm fails. */
export function helm(args: string[]): string {
  const outcome = run(binaryPath("helm"), args);
  assert.equal(outcome.status, 0, `helm ${args.join(" ")}\n${outcome.stdout}${outcome.stderr}`);
  return outcome.stdout;
}

/** Options of `helmTemplate`. */
export interface TemplateOptions {
  namespace: string;
  release?: string;
  /** A values file, relative to the repository root. */
  valuesFile?: string;
  /** `--set` arguments. */
  set?: string[];
  /** The cluster's Kubernetes version, else `KUBERNETES_VERSION`. */
  kubeVersion?: string;
}

/**
 * The values a chart refuses to render without (its schema requires them), as `--set`
 * arguments: the agent's registration token, unless an existing Secret is named.
 */
export const REQUIRED_VALUES: Record<string, string[]> = {
  agent: ["agentToken.value=registration-token"],
  buildscaler: [],
};

/**
 * `helm template` of `charts/<chart>`: the manifests as one YAML stream. Without a values
 * file, the chart's REQUIRED_VALUES come first, so that `set` can override them.
 */
export function helmTemplate(chart: string, options: TemplateOptions): string {
  const args = ["template", options.release ?? "release", `charts/${chart}`];
  args.push("--namespace", options.namespace);
  args.push("--kube-version", options.kubeVersion ?? KUBERNETES_VERSION);
  if (options.valuesFile) args.push("--values", options.valuesFile);
  const set = options.valuesFile ? [] : REQUIRED_VALUES[chart] ?? [];
  for (const value of [...set, ...options.set ?? []]) args.push("--set", value);
  return helm(args);
}

/** The values file that sets every value of `chart`. */
export function fullValues(chart: string): string {
  return `charts/${chart}/ci/full-values.yaml`;
}
