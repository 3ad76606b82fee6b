/**
 * The two ways a pipeline changes the Job: `pod-spec-patch`, merged into the pod spec the
 * way `kubectl patch --type strategic` merges, and `patch`, a jsonnet function applied to
 * the finished Job last (jrsonnet in WebAssembly, in process).
 *
 * @module
 */
import type { V1Job, V1PodSpec } from "@kubernetes/client-node";
import { UserError } from "../exit_status.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The merge keys of the lists Kubernetes merges by key, by the kind of object holding them. */
const MERGE_KEYS: Record<"pod" | "container", Record<string, string>> = {
  pod: {
    containers: "name",
    initContainers: "name",
    ephemeralContainers: "name",
    volumes: "name",
    imagePullSecrets: "name",
    hostAliases: "ip",
    resourceClaims: "name",
    schedulingGates: "name",
  },
  container: {
    env: "name",
    ports: "containerPort",
    volumeMounts: "mountPath",
    volumeDevices: "devicePath",
    resizePolicy: "resourceName",
  },
};

/** The kind of object found under a field, where it matters for merge keys. */
function childKind(kind: string, field: string): string {
  if (kind === "pod" && ["containers", "initContainers", "ephemeralContainers"].includes(field)) {
    return "container";
  }
  return "other";
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function mergeList(target: Json[], patch: Json[], key: string, kind: string, path: string): Json[] {
  if (patch.some((item) => isObject(item) && item.$patch === "replace")) {
    return patch.filter((item) => !(isObject(item) && item.$patch === "replace"));
  }
  const result = [...target];
  patch.forEach((item, index) => {
    if (!isObject(item) || item[key] === undefined) {
      throw new UserError(
        `option \`pod-spec-patch\`: ${path}[${index}] needs \`${key}\`, the key Kubernetes merges this list by`,
      );
    }
    const at = result.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
    if (item.$patch === "delete") {
      if (at !== -1) result.splice(at, 1);
      return;
    }
    if (at === -1) result.push(mergeObject({}, item, kind, `${path}[${index}]`));
    else result[at] = mergeObject(result[at] as JsonObject, item, kind, `${path}[${index}]`);
  });
  return result;
}

function mergeObject(
  target: JsonObject,
  patch: JsonObject,
  kind: string,
  path: string,
): JsonObject {
  if (patch.$patch === "replace") {
    const { $patch: _, ...rest } = patch;
    return rest;
  }
  const result: JsonObject = { ...target };
  for (const [field, value] of Object.entries(patch)) {
    const where = path ? `${path}.${field}` : field;
    if (field.startsWith("$")) {
      if (field === "$patch" && value === "merge") continue;
      throw new UserError(
        `option \`pod-spec-patch\`: ${where} is a patch directive this plugin does not support ` +
          "(supported: $patch: replace, $patch: delete, null to remove a field)",
      );
    }
    if (value === null) {
      delete result[field];
      continue;
    }
    const key = (MERGE_KEYS as Record<string, Record<string, string>>)[kind]?.[field];
    const current = result[field];
    if (Array.isArray(value) && key) {
      result[field] = mergeList(
        Array.isArray(current) ? current : [],
        value,
        key,
        childKind(kind, field),
        where,
      );
    } else if (isObject(value) && isObject(current)) {
      result[field] = mergeObject(current, value, "other", where);
    } else if (isObject(value)) {
      result[field] = mergeObject({}, value, "other", where);
    } else {
      result[field] = value;
    }
  }
  return result;
}

/** Merges `patch` into a pod spec like `kubectl patch --type strategic`. */
export function strategicMergePodSpec(spec: V1PodSpec, patch: Record<string, unknown>): V1PodSpec {
  return mergeObject(
    spec as unknown as JsonObject,
    patch as JsonObject,
    "pod",
    "",
  ) as unknown as V1PodSpec;
}

/** Applies `pod-spec-patch` to a Job's pod template. */
export function applyPodSpecPatch(job: V1Job, patch: Record<string, unknown>): V1Job {
  const spec = job.spec!.template.spec!;
  return {
    ...job,
    spec: {
      ...job.spec!,
      template: { ...job.spec!.template, spec: strategicMergePodSpec(spec, patch) },
    },
  };
}

interface JsonnetVm {
  extString(key: string, value: string): JsonnetVm;
  evaluateSnippet(snippet: string): string;
}

let vm: JsonnetVm | undefined;

async function jsonnet(): Promise<JsonnetVm> {
  if (!vm) {
    const { default: Jsonnet } = await import("@arakoodev/jsonnet");
    vm = new Jsonnet() as JsonnetVm;
  }
  return vm;
}

/** Maps jsonnet's `snippet:L:C` locations onto the lines of the user's `patch`. */
function userLocations(message: string, userLines: number): string {
  return message.split("\n").flatMap((line) => {
    const match = /snippet:(\d+):/.exec(line);
    if (!match) return [line];
    const userLine = Number(match[1]) - 1;
    if (userLine < 1 || userLine > userLines) return [];
    return [line.replace(/snippet:(\d+):/, `patch:${userLine}:`)];
  }).join("\n");
}

/** Applies the `patch` option: a jsonnet `function(job) ...` evaluated on the Job. */
export async function applyJsonnetPatch(job: V1Job, code: string): Promise<V1Job> {
  const userLines = code.split("\n").length;
  const snippet = `local patch =\n${code}\n;\npatch(std.parseJson(std.extVar('job')))`;
  const output = (await jsonnet()).extString("job", JSON.stringify(job)).evaluateSnippet(snippet);
  let result: unknown;
  try {
    result = JSON.parse(output);
  } catch {
    // jrsonnet returns its errors as text rather than throwing.
    throw new UserError(`option \`patch\`: jsonnet failed:\n${userLocations(output, userLines)}`);
  }
  const name = job.metadata?.name;
  if (!isObject(result) || result.apiVersion !== "batch/v1" || result.kind !== "Job") {
    throw new UserError(
      "option `patch`: the function must return the Job (apiVersion batch/v1, kind Job), got " +
        JSON.stringify(result).slice(0, 120),
    );
  }
  const resultName = isObject(result.metadata) ? result.metadata.name : undefined;
  if (resultName !== name) {
    throw new UserError(
      `option \`patch\`: the Job's name must stay ${JSON.stringify(name)}, got ${
        JSON.stringify(resultName)
      }`,
    );
  }
  return result as unknown as V1Job;
}
