import assert from "node:assert/strict";
import type { Pod } from "./kube_types.ts";
import { freshNamespace, readPodLog, testCluster, waitFor } from "./testing.ts";

const LINES = 100_000;
const LINE = `${"x".repeat(499)}\n`;

Deno.test("a 50 MB log of 100,000 lines is served whole, tailed and cut quickly", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const pods = `/api/v1/namespaces/${ns}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "chatty" },
    spec: {
      restartPolicy: "Never",
      containers: [{
        name: "step",
        image: "alpine:3.20",
        command: ["sh", "-c", `yes "$(printf 'x%.0s' $(seq 499))" | head -n ${LINES}`],
      }],
    },
  });
  await waitFor<Pod>(cluster.api, pods, "chatty", (pod) => pod?.status?.phase === "Succeeded", {
    timeoutMs: 120_000,
    description: "succeed",
  });

  let started = performance.now();
  const response = await cluster.api.stream(`${pods}/chatty/log`, { timestamps: true });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body!) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) lines++;
  }
  const wholeMs = performance.now() - started;
  assert.equal(lines, LINES);
  assert.equal(bytes, LINES * (LINE.length + 31));
  assert.ok(wholeMs < 30_000, `reading the whole log took ${wholeMs.toFixed(0)} ms`);

  started = performance.now();
  assert.equal(await readPodLog(cluster, ns, "chatty", { tailLines: 3 }), LINE.repeat(3));
  assert.equal(await readPodLog(cluster, ns, "chatty", { limitBytes: 1000 }), LINE.repeat(2));
  const cutMs = performance.now() - started;
  assert.ok(cutMs < 5_000, `tail and limitBytes took ${cutMs.toFixed(0)} ms`);
});
