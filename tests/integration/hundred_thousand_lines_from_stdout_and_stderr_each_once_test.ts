/**
 * A step printing 100,000 numbered lines, every third on stderr, while a proxy between the
 * program and the API server drops every connection four times as the log streams: the build
 * log holds every line exactly once, each stream in its order, and the exit status is the
 * command's. containerd stamps stdout and stderr on separate goroutines, so the two streams'
 * times interleave unevenly: lines must not be dropped for a time that goes backwards, nor
 * lost or repeated where a resumed stream starts.
 */
import assert from "node:assert/strict";
import { freshNamespace, startTcpProxy } from "../cluster/testing.ts";
import { assertEveryLineOnce, numberedLinesCommand } from "./numbered_lines.ts";
import { runStep } from "./step_runner.ts";

Deno.test("100,000 lines from stdout and stderr through dropped connections: each once", async () => {
  await using namespace = await freshNamespace();
  await using proxy = await startTcpProxy();
  const lines = 100_000;
  const cutAt = [20_000, 40_000, 60_000, 80_000];
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: proxy.kubeconfigPath,
    plugin: { "image": "alpine:3", "init-image": "" },
    env: { BUILDKITE_KUBERNETES_PLUGIN_DEBUG: "true" },
    command: numberedLinesCommand(lines, { perPause: 500, pause: 0.05, exit: 3, stderrEvery: 3 }),
    onOutput: (stdout) => {
      if (cutAt.length > 0 && stdout.includes(`\nline ${cutAt[0]}`)) {
        cutAt.shift();
        proxy.cutAll();
      }
    },
  });
  assert.equal(result.status, 3, result.stdout.slice(-2000) + result.stderr);
  try {
    assertEveryLineOnce(result.stdout, lines);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nlog tail:\n${result.stdout.slice(-1500)}` +
        `\nstderr tail:\n${result.stderr.slice(-6000)}`,
    );
  }
  assert.match(result.stdout, /^line 3 err$/m);
  assert.deepEqual(cutAt, [], "every cut happened while the log streamed");
  assert.ok(proxy.accepted > 4, `the program reconnected (${proxy.accepted} connections)`);
});
