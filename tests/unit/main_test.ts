/** The command line, run as a process: subcommands, output formats and exit statuses. */
import assert from "node:assert/strict";
import YAML from "yaml";
import { VERSION } from "../../src/version.ts";
import { JOB_ENV } from "./helpers.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function main(
  args: string[],
  plugin: Record<string, unknown> = { image: "alpine:3" },
  env: Record<string, string> = {},
) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-env", "--allow-read", MAIN, ...args],
    env: { ...JOB_ENV, BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify(plugin), ...env } as Record<
      string,
      string
    >,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    status: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("render: YAML documents by default, the Job then its redacted Secret", async () => {
  const { status, stdout, stderr } = await main(["render"]);
  assert.equal(status, 0, stderr);
  const documents = YAML.parseAllDocuments(stdout).map((document) => document.toJS());
  assert.deepEqual(documents.map((object) => object.kind), ["Job", "Secret"]);
  assert.ok(!stdout.includes(JOB_ENV.BUILDKITE_AGENT_ACCESS_TOKEN!), "a secret value is shown");
  assert.match(stdout, /\[REDACTED\]/);
});

Deno.test("render on a branch named no: kubectl's YAML 1.1 reads the branch label as the string no", async () => {
  const patch =
    "function(job) job + {metadata+: {labels+: {on: 'off', release: 'y', version: '0o14'}}}";
  const { status, stdout, stderr } = await main(["render"], { image: "alpine:3", patch }, {
    BUILDKITE_BRANCH: "no",
  });
  assert.equal(status, 0, stderr);
  for (const version of ["1.1", "1.2"] as const) {
    const [job] = YAML.parseAllDocuments(stdout, { version }).map((document) => document.toJS());
    const { labels } = job.metadata;
    assert.deepEqual(
      [labels["buildkite/branch"], labels.on, labels.release, labels.version],
      ["no", "off", "y", "0o14"],
      `YAML ${version}`,
    );
  }
});

Deno.test("render --output json: one List of the same objects", async () => {
  const yaml = await main(["render"]);
  const json = await main(["render", "--output", "json"]);
  assert.equal(json.status, 0, json.stderr);
  const list = JSON.parse(json.stdout);
  assert.equal(list.kind, "List");
  assert.deepEqual(
    list.items,
    YAML.parseAllDocuments(yaml.stdout).map((document) => document.toJS()),
  );
});

Deno.test("usage mistakes exit 2 with the usage; a configuration mistake exits 78", async () => {
  for (const args of [["render", "--output", "xml"], ["render", "--foo"], ["deploy"], []]) {
    const { status, stdout, stderr } = await main(args);
    assert.equal(status, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stdout + stderr, /usage: kubernetes-buildkite-plugin <command>/);
  }
  const bad = await main(["render"], { image: "alpine:3", "always-pul": true });
  assert.equal(bad.status, 78);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /unknown option `always-pul`.*did you mean `always-pull`\?/);
});

Deno.test("version prints the version", async () => {
  assert.deepEqual(await main(["version"]), { status: 0, stdout: `${VERSION}\n`, stderr: "" });
});
