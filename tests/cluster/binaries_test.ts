import assert from "node:assert/strict";
import { locateBinaries, parseBinaryPaths } from "./binaries.ts";

Deno.test("parseBinaryPaths reads the build script's NAME=PATH lines", () => {
  assert.deepEqual(
    parseBinaryPaths("etcd=/c/etcd\nkube-apiserver=/c/kas\nsomething-new=/c/x\n\nnot a line\n"),
    { etcd: "/c/etcd", kubeApiserver: "/c/kas" },
  );
});

Deno.test("locateBinaries finds every binary the build script built", async () => {
  const binaries = await locateBinaries();
  for (const path of Object.values(binaries)) {
    assert.ok((await Deno.stat(path)).isFile, path);
  }
});
