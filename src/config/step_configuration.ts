/**
 * A step's own configuration of this plugin, and the names the agent gives its flattened
 * variables: what both the whole configuration (`sources.ts`) and the cleanup's few options
 * (`cleanup_options.ts`) read, without the option schema.
 *
 * @module
 */
import { UserError } from "../exit_status.ts";

/** The prefix of the flattened variables the agent sets for this plugin. */
export const FLAT_PREFIX = "BUILDKITE_PLUGIN_KUBERNETES_";

/** The plugin's name as the agent derives it from a plugin source. */
export const PLUGIN_NAME = "kubernetes";

/** The agent's `formatEnvKey`: upper case, `-` and whitespace as `_`. */
export function envKey(name: string): string {
  return name.toUpperCase().replace(/[-\s]/g, "_");
}

/** The plugin name the agent derives from a plugin source such as `muhlba91/kubernetes#v2.0.0`. */
export function pluginName(source: string): string {
  const location = source.split("#")[0].replaceAll("\\", "/").replace(/\/+$/, "");
  const name = (location.split("/").pop() ?? "").replace(/^\.+/, "");
  return name.toLowerCase().replace(/\s+/g, " ").replace(/[^a-z0-9]/g, "-")
    .replaceAll("-buildkite-plugin-git", "").replaceAll("-buildkite-plugin", "");
}

function parseStepConfiguration(text: string, source: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UserError(
      `${source} must be a JSON object of plugin options, got ${
        Array.isArray(parsed) ? "an array" : typeof parsed
      }`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** The step's own configuration of this plugin, or undefined when the environment has none. */
export function stepConfiguration(
  env: Record<string, string | undefined>,
): { values: Record<string, unknown>; source: string } | undefined {
  const direct = env.BUILDKITE_PLUGIN_CONFIGURATION;
  if (direct !== undefined && direct !== "") {
    return {
      values: parseStepConfiguration(direct, "BUILDKITE_PLUGIN_CONFIGURATION"),
      source: "the step's plugin configuration",
    };
  }
  const plugins = env.BUILDKITE_PLUGINS;
  if (plugins === undefined || plugins === "") return undefined;
  let entries: unknown;
  try {
    entries = JSON.parse(plugins);
  } catch (error) {
    throw new UserError(`BUILDKITE_PLUGINS is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(entries)) {
    throw new UserError("BUILDKITE_PLUGINS must be a JSON array of {source: configuration}");
  }
  const ours = entries.flatMap((entry) =>
    entry && typeof entry === "object"
      ? Object.entries(entry as Record<string, unknown>).filter(([source]) =>
        pluginName(source) === PLUGIN_NAME
      )
      : []
  );
  if (ours.length === 0) return undefined;
  if (ours.length > 1) {
    throw new UserError(
      `BUILDKITE_PLUGINS lists this plugin ${ours.length} times (${
        ours.map(([source]) => source).join(", ")
      }); use it once per step`,
    );
  }
  const [source, config] = ours[0];
  return {
    values: parseStepConfiguration(JSON.stringify(config ?? null), `BUILDKITE_PLUGINS[${source}]`),
    source: `the step's plugin configuration (${source})`,
  };
}
