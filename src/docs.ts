/**
 * Documents generated from the single sources of truth: `plugin.yml` and the README's
 * option and exit status tables. `deno task docs` writes them; a test fails when the
 * committed files differ.
 *
 * @module
 */
import YAML from "yaml";
import { OPTION_NAMES, optionsJsonSchema } from "./config/schema.ts";
import { EXIT } from "./exit_status.ts";

/** The README's generated sections, between `<!-- name:start -->` and `<!-- name:end -->`. */
export const README_SECTIONS = ["options", "exit-statuses"] as const;

type Property = {
  type?: string;
  anyOf?: { type?: string }[];
  default?: unknown;
  description?: string;
};

function typeOf(property: Property): string {
  const types = property.anyOf
    ? property.anyOf.map((alternative) => alternative.type)
    : [property.type];
  if (types.includes("array") && types.includes("string")) return "string or list";
  if (types.includes("array")) return "list";
  if (types.includes("string") && types.includes("number")) return "string or number";
  return types[0] ?? "";
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A markdown table with padded columns, as `deno fmt` writes it. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(3, title.length, ...rows.map((row) => row[column].length))
  );
  const line = (cells: string[]) =>
    `| ${cells.map((text, column) => text.padEnd(widths[column])).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)]
    .join("\n");
}

/** The README's option table. */
export function optionTable(): string {
  const schema = optionsJsonSchema() as {
    properties: Record<string, Property>;
    required: string[];
  };
  const rows = OPTION_NAMES.map((name) => {
    const property = schema.properties[name];
    const fallback = schema.required.includes(name) ? "required" : "";
    const defaultValue = property.default === undefined
      ? fallback
      : `\`${JSON.stringify(property.default)}\``;
    return [`\`${name}\``, typeOf(property), cell(defaultValue), cell(property.description ?? "")];
  });
  return table(["Option", "Type", "Default", "Description"], rows);
}

/** The README's table of the plugin's own exit statuses. */
export function exitStatusTable(): string {
  const rows = Object.values(EXIT).map(({ code, meaning }) => [String(code), cell(meaning)]);
  return table(["Exit status", "Meaning"], rows);
}

/** The text of `plugin.yml`. */
export function pluginYml(): string {
  const plugin = {
    name: "kubernetes",
    description: "Runs a Buildkite step as a Kubernetes Job: checkout and command in a pod, " +
      "logs streamed into the build, the step's own exit status, cleanup included.",
    author: "https://github.com/muhlba91",
    requirements: [],
    configuration: optionsJsonSchema(),
  };
  return "# Generated from src/config/schema.ts by `deno task docs`; do not edit by hand.\n" +
    YAML.stringify(plugin, { lineWidth: 0 });
}

/** Replaces the generated sections of a README's text. */
export function updateReadme(readme: string): string {
  const generated: Record<(typeof README_SECTIONS)[number], string> = {
    "options": optionTable(),
    "exit-statuses": exitStatusTable(),
  };
  let text = readme;
  for (const section of README_SECTIONS) {
    const start = `<!-- ${section}:start -->`;
    const end = `<!-- ${section}:end -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from === -1 || to < from) throw new Error(`README.md lacks the markers ${start} … ${end}`);
    text = `${text.slice(0, from + start.length)}\n\n${generated[section]}\n\n${text.slice(to)}`;
  }
  return text;
}
