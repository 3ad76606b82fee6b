/**
 * The YAML reader of the hooks (a kubeconfig file, a plugin option given as YAML), loaded
 * only when one is read. `js-yaml`, one module, rather than the `yaml` library the `render`
 * and `docs` commands print with: importing `yaml` costs a hook process about 15 MiB and
 * 80 ms, `js-yaml` about 5 MiB and 15 ms. The YAML 1.2 core schema, as `yaml` reads by
 * default: no timestamps or other types beyond JSON's.
 *
 * @module
 */

/** Parses one YAML document into plain values. */
export type YamlReader = (text: string) => unknown;

/** Loads the reader. */
export async function loadYamlReader(): Promise<YamlReader> {
  const { load, CORE_SCHEMA } = await import("js-yaml");
  return (text) => load(text, { schema: CORE_SCHEMA });
}
