/**
 * The log Buildkite stores (the agent's chunks, reassembled by the stand-in) holds every
 * line of a 20,000-line step exactly once, in order.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { assertEveryLineOnce, numberedLinesCommand } from "../integration/numbered_lines.ts";
import { scenario } from "./fixtures.ts";

Deno.test("the stored log of a 20,000-line step has every line once, in order", async () => {
  await using namespace = await freshNamespace();
  const lines = 20_000;
  await using run = await scenario(namespace.name, {
    plugin: { image: "alpine:3", "init-image": "" },
    command: numberedLinesCommand(lines, { perPause: 1000, pause: 0.05 }),
  });
  const { job } = run;
  const finish = await job.ended();
  assert.equal(finish.exit_status, "0", job.log().slice(-2000));
  assert.equal(finish.chunks_failed_count, 0);
  assertEveryLineOnce(job.log(), lines);
});
