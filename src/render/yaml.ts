/**
 * A step's objects as YAML, as `render` and `print-resulting-job-spec` show them.
 *
 * @module
 */
import YAML from "yaml";
import type { Rendered } from "./mod.ts";

/**
 * The step's objects as YAML documents, the Job first. kubectl reads YAML as 1.1, where a
 * plain `no`, `on`, `y` or `0777` is not a string, and YAML 1.2 readers take `0o14` or
 * `1e3` for numbers: a string that either version would read as anything else is quoted.
 */
export function renderedYaml({ job, secret }: Rendered): string {
  return (secret ? [job, secret] : [job])
    .map((object) => YAML.stringify(object, { lineWidth: 0, compat: "yaml-1.1" }))
    .join("---\n");
}
