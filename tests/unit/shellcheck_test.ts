/** Every shell script the image or the agent runs passes shellcheck. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const REPO = resolve(import.meta.dirname!, "../..");

function scripts(): string[] {
  const found = ["docker/entrypoint.sh"];
  if (existsSync(join(REPO, "hooks"))) {
    const entries = readdirSync(join(REPO, "hooks"), { recursive: true, withFileTypes: true });
    found.push(
      ...entries.filter((entry) => entry.isFile())
        .map((entry) => relative(REPO, join(entry.parentPath, entry.name))).sort(),
    );
  }
  return found;
}

Deno.test("shellcheck finds nothing in the entrypoint and the hooks", () => {
  // Hooks are sourced by the agent's bash wrapper and may carry no shebang, hence --shell.
  const result = spawnSync("shellcheck", ["--shell=bash", "--external-sources", ...scripts()], {
    cwd: REPO,
    encoding: "utf8",
  });
  assert.ok(
    result.error === undefined,
    `shellcheck could not run (${result.error?.message}); install it: apt-get install -y shellcheck`,
  );
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
