import assert from "node:assert/strict";
import { MODES, parseOptions } from "./options.ts";

Deno.test("no arguments: the full run of every part, ours only", () => {
  const options = parseOptions([]);
  assert.equal(options.settings, MODES.full);
  assert.deepEqual(options.phases, ["steps", "logs", "concurrency", "startup", "biglog"]);
  assert.equal(options.baseline, undefined);
  assert.equal(options.before, undefined);
});

Deno.test("--quick, --baseline, --json, --markdown and --only", () => {
  const options = parseOptions([
    "--quick",
    "--baseline",
    "/tmp/plugin",
    "--json",
    "out.json",
    "--markdown",
    "out.md",
    "--only",
    "logs, steps",
  ]);
  assert.equal(options.settings.mode, "quick");
  assert.equal(options.baseline, "/tmp/plugin");
  assert.equal(options.json, "out.json");
  assert.equal(options.markdown, "out.md");
  assert.deepEqual(options.phases, ["logs", "steps"]);
  assert.equal(options.fromJson, undefined);
});

Deno.test("--before names a checkout of this plugin for the steps part, with or without --baseline", () => {
  assert.equal(parseOptions(["--before", "/tmp/before"]).before, "/tmp/before");
  const both = parseOptions(["--baseline", "/tmp/bash", "--before", "/tmp/before"]);
  assert.deepEqual([both.baseline, both.before], ["/tmp/bash", "/tmp/before"]);
  assert.equal(
    parseOptions(["--before", "/tmp/before", "--only", "steps,logs"]).before,
    "/tmp/before",
  );
});

Deno.test("--from-json names an earlier run's results", () => {
  assert.equal(parseOptions(["--from-json", "run.json"]).fromJson, "run.json");
});

const bad: { args: string[]; error: RegExp }[] = [
  {
    args: ["--only", "latency"],
    error: /unknown part "latency"; use steps, logs, concurrency, startup, biglog$/,
  },
  { args: ["--only", ","], error: /name at least one/ },
  {
    args: ["--before", "/tmp/before", "--only", "logs,startup"],
    error:
      /^Error: --before: only the steps part runs .*--only logs,startup leaves it out; add steps/,
  },
  { args: ["--before"], error: /Option '--before <value>' argument missing/ },
  { args: ["--fast"], error: /Unknown option '--fast'/ },
  { args: ["extra"], error: /positional argument/ },
];
for (const { args, error } of bad) {
  Deno.test(`bad arguments: ${args.join(" ")}`, () => {
    assert.throws(() => parseOptions(args), error);
  });
}

Deno.test("quick mode is smaller than the full run in every dimension", () => {
  const { quick, full } = MODES;
  assert.ok(quick.shortRepetitions < full.shortRepetitions);
  assert.ok(full.shortRepetitions >= 5, "at least 5 runs for latency figures");
  assert.ok(quick.longStepSeconds < full.longStepSeconds);
  assert.equal(full.longStepSeconds, 120);
  assert.equal(full.shortStepSeconds, 10);
  assert.equal(full.logLines, 100_000);
  assert.equal(quick.logLines, 20_000);
  assert.deepEqual(quick.concurrency, [1, 10]);
  assert.deepEqual(full.concurrency, [1, 10, 50]);
  assert.ok(quick.startupRepetitions < full.startupRepetitions);
  assert.deepEqual([quick.startupRepetitions, full.startupRepetitions], [10, 30]);
  assert.deepEqual([quick.bigLogMegabytes, full.bigLogMegabytes], [20, 100]);
  assert.deepEqual([quick.smallLogMegabytes, full.smallLogMegabytes], [1, 1]);
  assert.ok(quick.bigLogRepetitions < full.bigLogRepetitions);
});

Deno.test("--only startup,biglog: the new parts alone", () => {
  assert.deepEqual(parseOptions(["--only", "startup,biglog"]).phases, ["startup", "biglog"]);
});
