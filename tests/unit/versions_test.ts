/**
 * One version number (src/version.ts) and one image name, everywhere they are restated:
 * the agent chart, the Dockerfile's label, and the plugin references in the READMEs.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import YAML from "yaml";
import { IMAGE_REPOSITORY, VERSION } from "../../src/version.ts";

const REPO = resolve(import.meta.dirname!, "../..");

function read(path: string): string {
  return readFileSync(join(REPO, path), "utf8");
}

Deno.test("the agent chart's appVersion is the plugin's version", () => {
  assert.equal(YAML.parse(read("charts/agent/Chart.yaml")).appVersion, VERSION);
});

Deno.test("the agent chart's image defaults to the published image at that version", () => {
  const { image } = YAML.parse(read("charts/agent/values.yaml"));
  assert.equal(image.repository, IMAGE_REPOSITORY);
  assert.equal(image.tag, "", "an empty tag means the chart's appVersion");
});

Deno.test("the image's version label is the plugin's version", () => {
  assert.match(
    read("Dockerfile"),
    new RegExp(`org\\.opencontainers\\.image\\.version="${VERSION.replaceAll(".", "\\.")}"`),
  );
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

for (const readme of ["README.md"]) {
  Deno.test(`${readme}, when present, shows the plugin and the image at ${VERSION} only`, () => {
    if (!existsSync(join(REPO, readme))) return;
    const text = read(readme);
    const plugins = [...text.matchAll(/muhlba91\/kubernetes#([^\s:`'")\]]+)/g)].map((m) => m[1]);
    assert.ok(plugins.length > 0, `${readme} shows the plugin in use`);
    assert.deepEqual([...new Set(plugins)], [`v${VERSION}`]);
    const images = [
      ...text.matchAll(new RegExp(`${escape(IMAGE_REPOSITORY)}:([^\\s\`'")\\]]+)`, "g")),
    ];
    assert.deepEqual([...new Set(images.map((m) => m[1]))].filter((tag) => tag !== VERSION), []);
  });
}
