import assert from "node:assert/strict";
import { parseLogQuery } from "./log_query.ts";
import { formatNanos, parseRfc3339 } from "./timestamps.ts";

const NOW = parseRfc3339("2026-01-02T03:04:05.5Z")!;

Deno.test("parseLogQuery decodes every option the API server forwards", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["", { follow: false, timestamps: false, since: undefined, tailLines: undefined }],
    ["follow=true&timestamps=true", { follow: true, timestamps: true }],
    ["follow=false&timestamps=0", { follow: false, timestamps: false }],
    ["tailLines=10&limitBytes=100", { tailLines: 10, limitBytes: 100 }],
    ["tail=5", { tailLines: 5 }],
    ["tail=all", { tailLines: undefined }],
    ["sinceSeconds=5", { since: "2026-01-02T03:04:00.500000000Z" }],
    ["sinceTime=2026-01-02T03:00:00Z", { since: "2026-01-02T03:00:00.000000000Z" }],
    ["sinceTime=2026-01-02T04:00:00%2B01:00", { since: "2026-01-02T03:00:00.000000000Z" }],
    ["stream=Stderr", { stream: "Stderr" }],
  ];
  for (const [text, expected] of cases) {
    const result = parseLogQuery(new URLSearchParams(text), NOW);
    assert.ok("query" in result, text);
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(result.query[key as keyof typeof result.query], value, `${text}: ${key}`);
    }
  }
});

Deno.test("parseLogQuery answers bad queries like the kubelet", () => {
  const cases: [string, number][] = [
    ["tailLines=x", 400],
    ["sinceTime=yesterday", 400],
    ["tailLines=-1", 422],
    ["limitBytes=0", 422],
    ["sinceSeconds=0", 422],
    ["sinceSeconds=5&sinceTime=2026-01-02T03:00:00Z", 422],
    ["stream=Both", 400],
  ];
  for (const [text, status] of cases) {
    const result = parseLogQuery(new URLSearchParams(text), NOW);
    assert.ok("status" in result, text);
    assert.equal(result.status, status, text);
  }
});

Deno.test("timestamps keep nanoseconds at a fixed width", () => {
  assert.equal(formatNanos(NOW), "2026-01-02T03:04:05.500000000Z");
  assert.equal(
    formatNanos(parseRfc3339("2026-01-02T03:04:05.000000001Z")!),
    "2026-01-02T03:04:05.000000001Z",
  );
  assert.equal(parseRfc3339("2026-01-02 03:04:05Z"), undefined);
});
