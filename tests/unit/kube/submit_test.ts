import assert from "node:assert/strict";
import { ApiError } from "../../../src/kube/client.ts";
import { withRetries } from "../../../src/kube/submit.ts";

const failures: [string, ApiError][] = [
  ["no answer (refused, reset, timeout)", new ApiError(0, "", "connect ECONNREFUSED")],
  ["429", new ApiError(429, "TooManyRequests", "slow down")],
  ["500", new ApiError(500, "InternalError", "etcd leader changed")],
  ["503", new ApiError(503, "ServiceUnavailable", "not ready")],
];
for (const [name, error] of failures) {
  Deno.test(`a transient failure (${name}) is retried until it succeeds`, async () => {
    let attempts = 0;
    const retries: string[] = [];
    const result = await withRetries(() => {
      attempts++;
      return attempts < 3 ? Promise.reject(error) : Promise.resolve("created");
    }, { what: "creating Job x", budgetMs: 10_000, onRetry: (message) => retries.push(message) });
    assert.equal(result, "created");
    assert.equal(attempts, 3);
    assert.match(retries[0], /^creating Job x failed \(.+\); retrying in 0\.3s$/);
    assert.match(retries[1], /retrying in 0\.5s$/);
  });
}

const final: [string, Error][] = [
  [
    "a 422 rejection",
    new ApiError(422, "Invalid", "spec.template.spec.containers[0].image: Required value"),
  ],
  ["a 403", new ApiError(403, "Forbidden", "jobs.batch is forbidden")],
  [
    "a 409 on the first attempt",
    new ApiError(409, "AlreadyExists", 'jobs.batch "x" already exists'),
  ],
  ["a program error", new TypeError("boom")],
];
for (const [name, error] of final) {
  Deno.test(`${name} is final: not retried`, async () => {
    let attempts = 0;
    await assert.rejects(
      () =>
        withRetries(() => {
          attempts++;
          return Promise.reject(error);
        }, { what: "creating Job x", budgetMs: 10_000 }),
      (thrown: unknown) => thrown === error,
    );
    assert.equal(attempts, 1);
  });
}

Deno.test("retries stop within the budget", async () => {
  const started = Date.now();
  let attempts = 0;
  await assert.rejects(() =>
    withRetries(() => {
      attempts++;
      return Promise.reject(new ApiError(503, "", "down"));
    }, { what: "creating Job x", budgetMs: 1500 })
  );
  assert.ok(Date.now() - started < 1500, `gave up after ${Date.now() - started} ms`);
  assert.ok(attempts >= 3, `${attempts} attempts`);
});

Deno.test("a cancel during the backoff stops the retries: no attempt is sent after it", async () => {
  const cancel = new AbortController();
  let attempts = 0;
  const failure = new ApiError(0, "", "connect ECONNREFUSED");
  await assert.rejects(
    () =>
      withRetries(() => {
        attempts++;
        setTimeout(() => cancel.abort(), 50);
        return Promise.reject(failure);
      }, { what: "creating Job x", budgetMs: 10_000, signal: cancel.signal }),
    (thrown: unknown) => thrown === failure,
  );
  assert.equal(attempts, 1);
});
