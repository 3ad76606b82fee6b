/**
 * The watch and log connections are cut every two seconds by a proxy between the program
 * and the API server: the verdict is still right, and every log line arrives once, in order.
 */
import assert from "node:assert/strict";
import { freshNamespace, startTcpProxy } from "../cluster/testing.ts";
import { assertEveryLineOnce, numberedLinesCommand } from "./numbered_lines.ts";
import { runStep } from "./step_runner.ts";

Deno.test("connections cut every 2 s: exit status kept, every line once, in order", async () => {
  await using namespace = await freshNamespace();
  await using proxy = await startTcpProxy(undefined, { cutEveryMs: 2000 });
  const lines = 3000;
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: proxy.kubeconfigPath,
    plugin: { "image": "alpine:3", "init-image": "" },
    // Small bursts: many distinct timestamps within each second, several lines sharing each.
    command: numberedLinesCommand(lines, { perPause: 5, pause: 0.02, exit: 7 }),
  });
  assert.equal(result.status, 7, result.stdout.slice(-2000) + result.stderr);
  assertEveryLineOnce(result.stdout, lines);
  // Every resumed stream replayed the last line shown: nothing was rotated away.
  assert.doesNotMatch(result.stdout, /may be missing/);
  assert.ok(proxy.accepted > 10, `the program reconnected (${proxy.accepted} connections)`);
});
