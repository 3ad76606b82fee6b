import assert from "node:assert/strict";
import { checkNumberedLines, endTime } from "./log_fidelity.ts";
import { LogTally } from "./big_log.ts";
import { bigLogStep, sleepStep, streamingStep } from "./steps.ts";

/** Runs a step's command as the step container would: `/bin/sh -e -c`. */
async function runCommand(command: string): Promise<{ code: number; output: string }> {
  const { code, stdout } = await new Deno.Command("/bin/sh", {
    args: ["-e", "-c", command],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return { code, output: new TextDecoder().decode(stdout) };
}

Deno.test("a sleep step prints its numbered lines once, then the end time", async () => {
  const step = sleepStep(0, 25);
  const before = Date.now();
  const { code, output } = await runCommand(step.command);
  assert.equal(code, 0);
  assert.deepEqual(checkNumberedLines(output, step.lines), {
    expected: 25,
    distinct: 25,
    lost: 0,
    duplicated: 0,
    garbled: 0,
  });
  const end = endTime(output);
  assert.ok(end !== undefined && end >= before - 1 && end <= Date.now() + 1, `end ${end}`);
});

Deno.test("a streaming step prints every line once, in batches with pauses", async () => {
  const step = streamingStep(1000, 0.5);
  const started = performance.now();
  const { code, output } = await runCommand(step.command);
  assert.equal(code, 0);
  assert.ok(performance.now() - started >= 400, "the pauses were taken");
  assert.equal(checkNumberedLines(output, 1000).lost, 0);
  assert.equal(checkNumberedLines(output, 1000).duplicated, 0);
  assert.match(step.command, /i % 10 == 0/);
  assert.ok(endTime(output) !== undefined);
});

Deno.test("a big log step prints its start, 1 MB of distinct 100-byte lines, then its end", async () => {
  const step = bigLogStep(1);
  assert.equal(step.lines, 10_000);
  const { code, output } = await runCommand(step.command);
  assert.equal(code, 0);
  const tally = new LogTally(step.lines);
  tally.add(output, 0);
  const counted = tally.result();
  assert.deepEqual(
    [counted.distinct, counted.lost, counted.duplicated, counted.garbled, counted.bytes],
    [10_000, 0, 0, 0, 1_000_000],
  );
  assert.ok(counted.containerStart! <= counted.containerEnd!, "start and end times");
  assert.doesNotMatch(step.command, /\$\(\(/, "no $((…)) for Kubernetes to doubt");
});

Deno.test("a big log step numbers at most 9,999,999 lines", () => {
  assert.equal(bigLogStep(999).lines, 9_990_000);
  assert.throws(() => bigLogStep(1000), /1 to 9999999 lines, not 10000000/);
});
