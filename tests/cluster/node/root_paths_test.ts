import assert from "node:assert/strict";
import { resolveInRoot } from "./root_paths.ts";

Deno.test("resolveInRoot follows symlinks without leaving the root", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/run`);
    await Deno.mkdir(`${root}/var`);
    await Deno.symlink("/run", `${root}/var/run`);
    await Deno.symlink("../../..", `${root}/var/up`);
    await Deno.mkdir(`${root}/usr/lib`, { recursive: true });
    await Deno.symlink("usr/lib", `${root}/lib`);
    const cases: [string, string][] = [
      ["/var/run/secrets/token", "/run/secrets/token"],
      ["/var/up/etc", "/etc"],
      ["/lib/x", "/usr/lib/x"],
      ["/missing/./a/../b", "/missing/b"],
      ["/", "/"],
    ];
    for (const [path, expected] of cases) {
      assert.equal(await resolveInRoot(root, path), expected, path);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
