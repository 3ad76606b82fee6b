import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  parseEnvFile,
  parseEnvJson,
  readJobEnvironment,
  unquoteGo,
} from "../../../src/config/env_file.ts";
import { UserError } from "../../../src/exit_status.ts";

const fixtures = new URL("../../fixtures/env_file/", import.meta.url);
const shellText = Deno.readTextFileSync(new URL("job.env", fixtures));
const jsonText = Deno.readTextFileSync(new URL("job.json", fixtures));

Deno.test("the agent's %q env file parses to the same values as its JSON twin", () => {
  const shell = parseEnvFile(shellText, "job.env");
  const json = parseEnvJson(jsonText, "job.json");
  assert.deepEqual(Object.fromEntries(shell.vars), Object.fromEntries(json.vars));
  assert.equal(shell.vars.size, 12);
});

Deno.test("env file values keep quotes, newlines, tabs, '=' and unicode exactly", () => {
  const vars = parseEnvFile(shellText, "job.env").vars;
  assert.equal(vars.get("BUILDKITE_COMMAND"), 'echo "hello"\nmake test\t# tabbed');
  assert.equal(vars.get("EQUALS_INSIDE"), "a=b=c");
  assert.equal(vars.get("EMPTY"), "");
  assert.equal(vars.get("BACKSLASH"), 'C:\\path\\to\\"file"');
  assert.equal(vars.get("UNICODE"), "café ☕ 🚀");
  assert.equal(vars.get("CONTROL"), "bell\x07 back\b feed\f vtab\v cr\r nul\x00 esc\x1b");
  assert.equal(vars.get("NON_PRINTABLE"), "zero\u200bwidth and bom\ufeff");
  assert.equal(vars.get("INVALID_UTF8"), "bad\ufffdbyte");
});

Deno.test("bare names at the top of an env file are agent variables to propagate", () => {
  const parsed = parseEnvFile(shellText, "job.env");
  assert.deepEqual(parsed.propagate, [
    "BUILDKITE_GIT_CLONE_FLAGS",
    "BUILDKITE_SSH_KEYSCAN",
    "BUILDKITE_SHELL",
  ]);
  assert.equal(parsed.vars.has("BUILDKITE_SHELL"), false);
});

const unquoteCases: [string, string][] = [
  ['"plain"', "plain"],
  ['""', ""],
  ['"\\x41\\x42"', "AB"],
  ['"\\101"', "A"],
  ['"\\u00e9"', "é"],
  ['"\\U0001F680"', "🚀"],
  ['"\\xe2\\x98\\x95"', "☕"],
  ['"a\\\\b"', "a\\b"],
  ['"\\\'"', "'"],
];
for (const [quoted, expected] of unquoteCases) {
  Deno.test(`unquoteGo(${quoted}) is ${JSON.stringify(expected)}`, () => {
    assert.equal(unquoteGo(quoted), expected);
  });
}

const badQuotes = [
  '"unterminated',
  '"bad \\q escape"',
  '"\\x4"',
  '"\\uD800"',
  '"inner " quote"',
  "'single'",
];
for (const quoted of badQuotes) {
  Deno.test(`unquoteGo rejects ${quoted}`, () => {
    assert.throws(() => unquoteGo(quoted));
  });
}

Deno.test("a malformed env file line names the file, line and variable", () => {
  assert.throws(
    () => parseEnvFile('GOOD="x"\nBAD="\\q"\n', "/tmp/job.env"),
    (error: unknown) =>
      error instanceof UserError &&
      /\/tmp\/job\.env:2: the value of BAD is not a Go-quoted string/.test(error.message),
  );
});

Deno.test("readJobEnvironment prefers the JSON file and keeps the shell file's bare names", () => {
  const dir = mkdtempSync("/tmp/env-file-test-");
  const json = join(dir, "job.json");
  const shell = join(dir, "job.env");
  writeFileSync(json, JSON.stringify({ A: "from-json" }));
  writeFileSync(shell, 'BUILDKITE_GIT_CLONE_FLAGS\nA="from-shell"\n');
  const job = readJobEnvironment({ BUILDKITE_ENV_JSON_FILE: json, BUILDKITE_ENV_FILE: shell })!;
  assert.equal(job.vars.get("A"), "from-json");
  assert.deepEqual(job.propagate, ["BUILDKITE_GIT_CLONE_FLAGS"]);
  const fromShell = readJobEnvironment({ BUILDKITE_ENV_FILE: shell })!;
  assert.equal(fromShell.vars.get("A"), "from-shell");
  assert.equal(readJobEnvironment({}), undefined);
});

Deno.test("an unreadable env file is an error naming the variable and path", () => {
  assert.throws(
    () => readJobEnvironment({ BUILDKITE_ENV_FILE: "/nonexistent/job.env" }),
    /BUILDKITE_ENV_FILE=\/nonexistent\/job\.env cannot be read/,
  );
});
