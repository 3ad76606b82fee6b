/**
 * plugin.yml and the README follow the Buildkite plugin linter's rules, and match what the
 * option schema generates.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import YAML from "yaml";
import { pluginYml, updateReadme } from "../../src/docs.ts";
import { EXIT } from "../../src/exit_status.ts";
import { VERSION } from "../../src/version.ts";

const root = new URL("../../", import.meta.url);
const pluginText = Deno.readTextFileSync(new URL("plugin.yml", root));
const readme = Deno.readTextFileSync(new URL("README.md", root));
const plugin = YAML.parse(pluginText);

Deno.test("plugin.yml is what the option schema generates (run `deno task docs`)", () => {
  assert.equal(pluginText, pluginYml());
});

Deno.test("the README's option and exit status tables are what the sources generate (run `deno task docs`)", () => {
  assert.equal(readme, updateReadme(readme));
});

Deno.test("plugin.yml has the keys the plugin linter requires", () => {
  assert.equal(plugin.name, "kubernetes");
  assert.equal(typeof plugin.description, "string");
  assert.match(plugin.author, /^https:\/\//);
  assert.ok(Array.isArray(plugin.requirements));
  assert.equal(typeof plugin.configuration, "object");
  assert.equal(typeof plugin.configuration.properties, "object");
  assert.deepEqual(plugin.configuration.required, ["image"]);
  assert.equal(plugin.configuration.additionalProperties, false);
});

function compile() {
  return new Ajv({ strict: true, allErrors: true }).compile(plugin.configuration);
}

Deno.test("plugin.yml's configuration compiles under Ajv strict mode", () => {
  compile();
});

/** The README's yml/yaml blocks, parsed (a block that is not valid YAML fails here). */
function readmeBlocks(): unknown[] {
  return [...readme.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((match) => YAML.parse(match[1]));
}

/** Every use of this plugin in the README's yml/yaml blocks: [source, configuration]. */
function readmeExamples(): [string, unknown][] {
  const uses: [string, unknown][] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (/^muhlba91\/kubernetes(#|$)/.test(key)) uses.push([key, value]);
      else visit(value);
    }
  };
  for (const block of readmeBlocks()) visit(block);
  return uses;
}

Deno.test("every README example of the plugin validates against plugin.yml and has a semver version", () => {
  const examples = readmeExamples();
  assert.ok(examples.length >= 1, "the README has at least one example");
  const validate = compile();
  for (const [source, configuration] of examples) {
    const version = source.split("#")[1];
    assert.match(
      version ?? "",
      /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/,
      `${source} has a semver version`,
    );
    assert.equal(version, `v${VERSION}`, `${source} uses the current version`);
    assert.ok(validate(configuration), `${source}: ${JSON.stringify(validate.errors)}`);
  }
});

Deno.test("the validator rejects what the linter would reject", () => {
  const validate = compile();
  assert.equal(validate({}), false);
  assert.equal(validate({ image: "alpine", "no-such-option": true }), false);
  assert.equal(validate({ image: "alpine", "always-pull": "yes" }), false);
  assert.equal(validate({ image: "alpine", "resources-limit-cpu": "lots" }), false);
  assert.equal(validate({ image: "alpine", metadata: { labels: { team: "ci team" } } }), false);
  assert.equal(validate({ image: "alpine", metadata: { labels: { "a/b/c": "x" } } }), false);
  assert.equal(validate({ image: "alpine", "run-as-user": -1 }), false);
});

/** The `retry.automatic` rules of the README's pipeline examples. */
function readmeRetryRules(): { exit_status: unknown; limit: unknown }[] {
  const rules: { exit_status: unknown; limit: unknown }[] = [];
  for (const block of readmeBlocks()) {
    const steps = (block as { steps?: { retry?: { automatic?: unknown } }[] })?.steps ?? [];
    for (const step of steps) {
      const automatic = step.retry?.automatic;
      if (Array.isArray(automatic)) rules.push(...automatic);
    }
  }
  return rules;
}

/** Statuses that fail the same way on every try: retrying them only delays the failure. */
const NEVER_HEALS: number[] = [EXIT.config.code, EXIT.invalidImage.code, EXIT.containerConfig.code];

Deno.test("the README's retry recipe retries only the plugin's own statuses that a retry can change", () => {
  const rules = readmeRetryRules();
  assert.ok(rules.length >= 1, "the README has a retry.automatic recipe");
  const plugin = new Set<number>(Object.values(EXIT).map((status) => status.code));
  const retried: number[] = [];
  for (const rule of rules) {
    const statuses = Array.isArray(rule.exit_status) ? rule.exit_status : [rule.exit_status];
    for (const status of statuses) {
      assert.ok(
        typeof status === "number" && plugin.has(status),
        `exit_status ${JSON.stringify(status)} is one of the plugin's statuses (${[...plugin]})`,
      );
      assert.ok(!NEVER_HEALS.includes(status), `exit_status ${status} is never worth a retry`);
      retried.push(status);
    }
    assert.ok(
      Number.isInteger(rule.limit) && (rule.limit as number) >= 1 && (rule.limit as number) <= 10,
      `limit ${JSON.stringify(rule.limit)} is a whole number from 1 to 10, as Buildkite accepts`,
    );
  }
  assert.equal(new Set(retried).size, retried.length, "each status in one rule");
  const recipe = readme.slice(readme.indexOf("### Retrying infrastructure failures"));
  const section = recipe.slice(0, recipe.indexOf("\n## "));
  for (const { code } of Object.values(EXIT)) {
    assert.match(
      section,
      new RegExp(`\`${code}\``),
      `the recipe says whether ${code} is safe to retry`,
    );
  }
});
