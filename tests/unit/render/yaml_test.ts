import assert from "node:assert/strict";
import YAML from "yaml";
import { renderStep } from "../../../src/render/mod.ts";
import { renderedYaml } from "../../../src/render/yaml.ts";
import { configFor } from "../helpers.ts";

/** Strings a plain YAML 1.1 scalar (kubectl's reading) or a 1.2 one would take for other types. */
const MISREAD = [
  ...["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"],
  ...["y", "Y", "n", "N", "true", "False", "null", "Null", "~", ""],
  ...["0777", "0o14", "0x1F", "0b101", "1_000", "+12", "08", "1e3", ".5", "1.", ".inf", ".NaN"],
  ...["12:30", "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "<<"],
];

Deno.test("labels such as no, on, y and 0o14 read back as the same strings in YAML 1.1 and 1.2", async () => {
  const labels = Object.fromEntries(MISREAD.map((value, index) => [`label-${index}`, value]));
  const keys = Object.fromEntries(MISREAD.filter(Boolean).map((value) => [value, "key"]));
  const rendered = await renderStep(configFor({ image: "alpine:3" }, { BUILDKITE_BRANCH: "no" }));
  rendered.job.metadata!.labels = { ...rendered.job.metadata!.labels, ...labels, ...keys };
  const text = renderedYaml(rendered);
  for (const version of ["1.1", "1.2"] as const) {
    const [job] = YAML.parseAllDocuments(text, { version }).map((document) => document.toJS());
    assert.deepEqual(job, JSON.parse(JSON.stringify(rendered.job)), `YAML ${version}`);
    assert.equal(job.metadata.labels["buildkite/branch"], "no", `YAML ${version}`);
  }
});

Deno.test("render's YAML is the Job, then its Secret, and quotes only what needs quotes", async () => {
  const rendered = await renderStep(
    configFor({ image: "alpine:3" }, { BUILDKITE_AGENT_ACCESS_TOKEN: "token" }),
    { redact: true },
  );
  const text = renderedYaml(rendered);
  const documents = YAML.parseAllDocuments(text).map((document) => document.toJS());
  assert.deepEqual(documents, JSON.parse(JSON.stringify([rendered.job, rendered.secret])));
  assert.match(text, /^kind: Job$/m);
  assert.match(text, /^kind: Secret$/m);
  assert.match(text, /^ {10}image: alpine:3$/m);
});
