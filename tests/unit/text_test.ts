import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { posix } from "node:path";
import { directoryOf, fromBase64, normalizePath, relativePath, toBase64 } from "../../src/text.ts";

const PATHS = [
  "",
  "/",
  "//",
  "/a",
  "/a/",
  "/a//b/../c/",
  "/a/./b",
  "/../a",
  "a/../..",
  "a/b/../../..",
  "./a/",
  "/workdir/..",
  "/buildkite/builds/agent/org/pipe",
  "relative/dir/",
];

for (const path of PATHS) {
  Deno.test(`normalizePath(${JSON.stringify(path)}) is POSIX path.normalize's`, () => {
    assert.equal(normalizePath(path), posix.normalize(path));
  });
  Deno.test(`directoryOf(${JSON.stringify(path)}) is POSIX path.dirname's`, () => {
    assert.equal(directoryOf(path), posix.dirname(path));
  });
}

const PAIRS: [string, string][] = [
  ["/buildkite/builds", "/buildkite/builds/agent/org/pipe"],
  ["/buildkite/builds", "/buildkite/builds"],
  ["/a/b/c", "/a/x"],
  ["/a/b/", "/a/b/c/"],
  ["/", "/a/b"],
  ["/a/b", "/"],
];

for (const [from, to] of PAIRS) {
  Deno.test(`relativePath(${from}, ${to}) is POSIX path.relative's`, () => {
    assert.equal(relativePath(from, to), posix.relative(from, to));
  });
}

for (const text of ["", "plain", "user:pässwörd", "-----BEGIN CERTIFICATE-----\nMIIB\n", "🚀"]) {
  Deno.test(`base64 of ${JSON.stringify(text)} is Buffer's, and reads back`, () => {
    const encoded = toBase64(text);
    assert.equal(encoded, Buffer.from(text, "utf8").toString("base64"));
    assert.equal(fromBase64(encoded), text);
  });
}

Deno.test("fromBase64 ignores the line breaks base64 in a kubeconfig may carry", () => {
  assert.equal(fromBase64("aGVs\nbG8=\n"), "hello");
});
