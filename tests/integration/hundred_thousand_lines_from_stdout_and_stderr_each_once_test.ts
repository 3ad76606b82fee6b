/**
 * A step printing 100,000 numbered lines, every third on stderr, while a proxy between the
 * program and the API server cuts every connection every two seconds: the build log holds
 * every line exactly once, each stream in its order, and the exit status is the command's.
 * containerd stamps stdout and stderr on separate goroutines, so the two streams' times
 * interleave unevenly: lines must not be dropped for a time that goes backwards.
 */
import assert from "node:assert/strict";
import { freshNamespace, startTcpProxy } from "../cluster/testing.ts";
import { assertEveryLineOnce, numberedLinesCommand } from "./numbered_lines.ts";
import { runStep } from "./step_runner.ts";

Deno.test("100,000 lines from stdout and stderr through cut connections: each once", async () => {
  await using namespace = await freshNamespace();
  await using proxy = await startTcpProxy(undefined, { cutEveryMs: 2000 });
  const lines = 100_000;
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: proxy.kubeconfigPath,
    plugin: { "image": "alpine:3", "init-image": "" },
    command: numberedLinesCommand(lines, { perPause: 500, pause: 0.05, exit: 3, stderrEvery: 3 }),
  });
  assert.equal(result.status, 3, result.stdout.slice(-2000) + result.stderr);
  assertEveryLineOnce(result.stdout, lines);
  assert.match(result.stdout, /^line 3 err$/m);
  assert.ok(proxy.accepted > 3, `the program reconnected (${proxy.accepted} connections)`);
});
