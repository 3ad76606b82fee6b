/** A 100,000-line, 50 MB log reaches the build log whole: every line exactly once, in order. */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { assertEveryLineOnce, numberedLinesCommand } from "./numbered_lines.ts";
import { runStep } from "./step_runner.ts";

Deno.test("a 100,000-line / 50 MB log: every line exactly once, in order", async () => {
  await using namespace = await freshNamespace();
  const lines = 100_000;
  const result = await runStep({
    namespace: namespace.name,
    plugin: { "image": "alpine:3", "init-image": "" },
    command: numberedLinesCommand(lines, { padding: 500 }),
  });
  assert.equal(result.status, 0, result.stdout.slice(-2000) + result.stderr);
  assert.ok(result.stdout.length > 50_000_000, `${result.stdout.length} bytes`);
  assertEveryLineOnce(result.stdout, lines);
});
