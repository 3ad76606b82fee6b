/**
 * Writes the generated documents: `plugin.yml` and the README's tables.
 * Run: `deno task docs`.
 *
 * @module
 */
import { pluginYml, updateReadme } from "../src/docs.ts";

const root = new URL("../", import.meta.url);
Deno.writeTextFileSync(new URL("plugin.yml", root), pluginYml());
const readme = new URL("README.md", root);
Deno.writeTextFileSync(readme, updateReadme(Deno.readTextFileSync(readme)));
console.log("wrote plugin.yml and README.md's generated tables");
