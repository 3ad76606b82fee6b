/**
 * The API server restarts while the step runs: the program rides it out; the verdict is
 * right and every log line arrives once, in order.
 */
import assert from "node:assert/strict";
import { freshNamespace, privateControlPlane } from "../cluster/testing.ts";
import { assertEveryLineOnce, numberedLinesCommand } from "../integration/numbered_lines.ts";
import { runStep } from "../integration/step_runner.ts";

Deno.test("the API server restarted mid-step: exit status kept, every line once, in order", async () => {
  await using cluster = await privateControlPlane();
  await using namespace = await freshNamespace(cluster);
  const lines = 600;
  let restart: Promise<void> | undefined;
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: cluster.kubeconfigPath,
    plugin: { "image": "alpine:3", "init-image": "" },
    command: numberedLinesCommand(lines, { perPause: 5, pause: 0.05, exit: 5 }),
    onOutput: (stdout) => {
      if (!restart && /^line 100$/m.test(stdout)) restart = cluster.restartApiServer();
    },
  });
  assert.ok(restart, "the API server was restarted while the log streamed");
  await restart;
  assert.equal(result.status, 5, result.stdout.slice(-2000) + result.stderr);
  assertEveryLineOnce(result.stdout, lines);
});
