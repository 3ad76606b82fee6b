/**
 * Where a step's plugin configuration comes from, and how the sources merge: built-in
 * defaults < agent-wide `BUILDKITE_PLUGIN_KUBERNETES_*` variables < the step's own
 * configuration (`BUILDKITE_PLUGIN_CONFIGURATION`, else its entry in `BUILDKITE_PLUGINS`).
 *
 * @module
 */
import { UserError } from "../exit_status.ts";
import { OPTION_NAMES, type OptionName, optionsJsonSchema } from "./schema.ts";
import { envKey, FLAT_PREFIX, stepConfiguration } from "./step_configuration.ts";
import { loadYamlReader, type YamlReader } from "../yaml_reader.ts";

export {
  envKey,
  FLAT_PREFIX,
  PLUGIN_NAME,
  pluginName,
  stepConfiguration,
} from "./step_configuration.ts";

/**
 * Tunables of the bash plugins that configured their polling loops. This plugin does not
 * poll, so an agent that still sets them gets a warning instead of an error.
 */
const RETIRED_VARIABLES = new Set([
  "JOB_APPLY_RETRY_INTERVAL_SEC",
  "JOB_APPLY_TIMEOUT_SEC",
  "LOG_RETRY_INTERVAL_SEC",
  "LOG_ATTEMPT_TIMEOUT_SEC",
  "JOB_STATUS_RETRY_INTERVAL_SEC",
  "LOG_COMPLETE_RETRY_INTERVAL_SEC",
  "LOG_COMPLETE_TIMEOUT_SEC",
  "JOB_CLEANUP_RETRY_INTERVAL_SEC",
  "JOB_CLEANUP_TIMEOUT_SEC",
  "JOB",
]);

/** The merged, not yet validated configuration, with where each option came from. */
export interface RawConfiguration {
  /** Option name → value as found (strings from flattened variables are already typed). */
  values: Record<string, unknown>;
  /** Option name → a human description of its source, for error messages. */
  origins: Record<string, string>;
  /** Things worth telling the user that do not stop the step. */
  warnings: string[];
}

/** `array`: only a list; `list`: a string or a list of strings. */
type OptionKind = "boolean" | "integer" | "string" | "array" | "list" | "object";

/** How a flattened (always textual) value of each option is typed, read off the JSON Schema. */
function optionKinds(): Map<OptionName, OptionKind> {
  const properties = optionsJsonSchema().properties as Record<string, Record<string, unknown>>;
  const kinds = new Map<OptionName, OptionKind>();
  for (const name of OPTION_NAMES) {
    const property = properties[name];
    const types = property.anyOf
      ? (property.anyOf as Record<string, unknown>[]).map((alternative) => alternative.type)
      : [property.type];
    if (types.length === 1 && types[0] === "array") kinds.set(name, "array");
    else if (types.includes("array")) kinds.set(name, "list");
    else if (types.includes("object")) kinds.set(name, "object");
    else if (types.includes("boolean")) kinds.set(name, "boolean");
    else if (types.includes("integer")) kinds.set(name, "integer");
    else kinds.set(name, "string");
  }
  return kinds;
}

let kindsCache: Map<OptionName, OptionKind> | undefined;

/** The YAML reader, loaded by {@link loadValueReader} only when a value is not JSON. */
let parseYaml: YamlReader | undefined;

/** An object option's flattened value: JSON, else YAML (JSON is YAML, read faster). */
function parseObjectValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    if (!parseYaml) {
      throw new Error(
        `the YAML reader is not loaded (loadValueReader): ${(error as Error).message}`,
      );
    }
    return parseYaml(raw);
  }
}

/**
 * Loads the YAML reader when an object option's `BUILDKITE_PLUGIN_KUBERNETES_*` value is not
 * JSON, so that a
 * configuration of JSON alone (the step's own always is) never loads it. Call it before
 * reading the configuration from `env`.
 */
export async function loadValueReader(env: Record<string, string | undefined>): Promise<void> {
  if (parseYaml) return;
  kindsCache ??= optionKinds();
  const objects = new Set(
    [...kindsCache].filter(([, kind]) => kind === "object").map(([name]) =>
      FLAT_PREFIX + envKey(name)
    ),
  );
  const yamlNeeded = Object.entries(env).some(([name, value]) => {
    if (!objects.has(name) || value === undefined) return false;
    try {
      JSON.parse(value);
      return false;
    } catch {
      return true;
    }
  });
  if (yamlNeeded) parseYaml = await loadYamlReader();
}

function typedFlatValue(kind: OptionKind, raw: string, variable: string): unknown {
  switch (kind) {
    case "boolean":
      if (/^(true|false)$/i.test(raw)) return raw.toLowerCase() === "true";
      return raw;
    case "integer":
      return /^-?[0-9]+$/.test(raw) ? Number(raw) : raw;
    case "array":
      return [raw];
    case "object":
      try {
        return parseObjectValue(raw);
      } catch (error) {
        throw new UserError(
          `${variable}: the value is not a YAML or JSON object (${(error as Error).message})`,
        );
      }
    default:
      return raw;
  }
}

/**
 * Decodes `BUILDKITE_PLUGIN_KUBERNETES_*` variables. Lists are read in numeric index
 * order (`_10` after `_9`); `skip` names the keys the step's JSON configuration gives,
 * whose flattened copies (the agent sets them for every key, known or not) are ignored.
 */
export function decodeFlattened(
  env: Record<string, string | undefined>,
  skip: ReadonlySet<string> = new Set(),
): RawConfiguration {
  kindsCache ??= optionKinds();
  const kinds = kindsCache;
  // Longest first, so that ENVIRONMENT_FROM_SECRET_0 is not read as ENVIRONMENT's item, nor
  // IMAGE_PULL_SECRETS_0 as the copy of a step's misspelt `image-pull`.
  const names = [...new Set<string>([...OPTION_NAMES, ...skip])]
    .sort((a, b) => envKey(b).length - envKey(a).length);
  const scalars = new Map<OptionName, string>();
  const items = new Map<OptionName, Map<number, string>>();
  const values: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  const warnings: string[] = [];
  const unknown: string[] = [];

  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(FLAT_PREFIX) || raw === undefined) continue;
    const rest = variable.slice(FLAT_PREFIX.length);
    const match = names.find((n) => rest === envKey(n) || rest.startsWith(`${envKey(n)}_`));
    if (!match) {
      if (RETIRED_VARIABLES.has(rest)) {
        warnings.push(`${variable} is ignored: this plugin follows the Job without polling.`);
      } else {
        unknown.push(variable);
      }
      continue;
    }
    if (skip.has(match)) continue;
    // Not a key of the step's, so one of the options.
    const name = match as OptionName;
    if (rest === envKey(name)) {
      scalars.set(name, raw);
      continue;
    }
    const suffix = rest.slice(envKey(name).length + 1);
    const kind = kinds.get(name);
    if ((kind === "list" || kind === "array") && /^[0-9]+$/.test(suffix)) {
      if (!items.has(name)) items.set(name, new Map());
      items.get(name)!.set(Number(suffix), raw);
    } else if (kind === "object") {
      throw new UserError(
        `${variable}: option \`${name}\` cannot be read from flattened variables; ` +
          `give it in the step's plugin configuration or as one YAML/JSON value in ${FLAT_PREFIX}${
            envKey(name)
          }`,
      );
    } else {
      unknown.push(variable);
    }
  }

  if (unknown.length > 0) {
    const list = unknown.sort().join(", ");
    throw new UserError(
      `unknown plugin option${unknown.length > 1 ? "s" : ""} from the environment: ${list}. ` +
        `Known options: ${OPTION_NAMES.join(", ")}`,
    );
  }

  for (const [name, raw] of scalars) {
    const variable = FLAT_PREFIX + envKey(name);
    values[name] = typedFlatValue(kinds.get(name)!, raw, variable);
    origins[name] = variable;
  }
  for (const [name, byIndex] of items) {
    if (scalars.has(name)) continue;
    values[name] = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, value]) => value);
    origins[name] = `${FLAT_PREFIX}${envKey(name)}_*`;
  }
  return { values, origins, warnings };
}

/** Reads and merges every source of configuration; the result still needs validation. */
export function readConfiguration(env: Record<string, string | undefined>): RawConfiguration {
  const step = stepConfiguration(env);
  const flat = decodeFlattened(env, new Set(Object.keys(step?.values ?? {})));
  const values = { ...flat.values };
  const origins = { ...flat.origins };
  for (const [name, value] of Object.entries(step?.values ?? {})) {
    values[name] = value;
    origins[name] = step!.source;
  }
  return { values, origins, warnings: flat.warnings };
}
