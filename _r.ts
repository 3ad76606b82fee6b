import "./src/run.ts";
import "./src/config/mod.ts";
const { loadYamlReader } = await import("./src/yaml_reader.ts");
(await loadYamlReader())("a: 1");
