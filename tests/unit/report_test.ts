import assert from "node:assert/strict";
import type { CoreV1Event } from "@kubernetes/client-node";
import { annotationMarkdown, diagnosisText, Output, recentEvents } from "../../src/report.ts";

const now = Date.parse("2026-11-27T12:00:00Z");
const event = (reason: string, secondsAgo: number, message: string): CoreV1Event =>
  ({
    reason,
    message,
    type: "Warning",
    count: 1,
    lastTimestamp: new Date(now - secondsAgo * 1000) as unknown as Date,
    involvedObject: { kind: "Pod", name: "p" },
    metadata: {},
  }) as CoreV1Event;

Deno.test("a diagnosis names container, image, reason and message, then the recent events oldest first", () => {
  const text = diagnosisText(
    [{
      container: "step",
      image: "registry.invalid/x:1",
      reason: "ImagePullBackOff",
      message: "back-off",
    }],
    [event("BackOff", 5, "Back-off pulling"), event("Failed", 30, "Failed to pull")],
    now,
  );
  assert.equal(
    text,
    [
      "container: step\nimage: registry.invalid/x:1\nreason: ImagePullBackOff\nmessage: back-off",
      "recent events:",
      "   30s  Warning  Failed              Pod/p: Failed to pull",
      "    5s  Warning  BackOff             Pod/p: Back-off pulling",
    ].join("\n"),
  );
});

Deno.test("recent events keeps the newest", () => {
  const events = Array.from({ length: 15 }, (_, i) => event(`R${i}`, 100 - i, "m"));
  assert.deepEqual(recentEvents(events, 3).map((e) => e.reason), ["R12", "R13", "R14"]);
});

Deno.test("annotation markdown keeps the diagnosis in a code block", () => {
  assert.equal(
    annotationMarkdown("It failed.", "a ``` b"),
    "**:kubernetes: It failed.**\n\n```\na ''' b\n```\n",
  );
});

Deno.test("output keeps the order of writes", async () => {
  const written: string[] = [];
  const output = new Output(async (bytes) => {
    await new Promise((resolve) => setTimeout(resolve, bytes.length % 3));
    written.push(new TextDecoder().decode(bytes));
  });
  await Promise.all([
    output.group("---", "checkout"),
    output.write("a\n"),
    output.note("n"),
    output.write("b\n"),
  ]);
  assert.equal(written.join(""), "--- :kubernetes: checkout\na\nkubernetes plugin: n\nb\n");
});

Deno.test("the build log gets a container's bytes unchanged, whatever their encoding", async () => {
  const written: number[] = [];
  const output = new Output((bytes) => {
    written.push(...bytes);
    return Promise.resolve();
  });
  await output.write(Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0xff, 0x0a));
  await output.write("é\n");
  assert.deepEqual(written, [0x63, 0x61, 0x66, 0xe9, 0xff, 0x0a, 0xc3, 0xa9, 0x0a]);
});

Deno.test("what the build log has queued when a program ends is written once it awaits flushed, however slowly the agent reads", async () => {
  // A program writing 1 MiB to a pipe nobody reads for a while, then exiting at once.
  const program = `
    import { Output } from ${JSON.stringify(new URL("../../src/report.ts", import.meta.url).href)};
    const output = new Output();
    for (let line = 0; line < 16384; line++) void output.write("x".repeat(63) + "\\n");
    await output.flushed();
    Deno.exit(0);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", program],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const { stdout, success } = await child.output();
  assert.ok(success);
  assert.equal(stdout.length, 16384 * 64);
});
