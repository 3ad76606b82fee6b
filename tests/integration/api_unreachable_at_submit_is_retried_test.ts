/**
 * Submitting retries what may pass (a refused connection while the API server is not
 * there yet) and not what cannot (a rejected Job, shown with the server's own message).
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";

/** A port nothing listens on yet. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Forwards `port` to `target` until closed. */
function forward(port: number, target: URL): { close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const connections: Deno.Conn[] = [];
  (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
      connections.push(client, upstream);
      client.readable.pipeTo(upstream.writable).catch(() => {});
      upstream.readable.pipeTo(client.writable).catch(() => {});
    }
  })().catch(() => {});
  return {
    close() {
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch {
          // Already closed by its peer.
        }
      }
    },
  };
}

Deno.test("the API server unreachable at submit: retried with backoff until it answers", async () => {
  await using namespace = await freshNamespace();
  const admin = YAML.parse(await Deno.readTextFile(testCluster().kubeconfigPath));
  const server = new URL(admin.clusters[0].cluster.server);
  const port = freePort();
  admin.clusters[0].cluster.server = `https://127.0.0.1:${port}`;
  const kubeconfigPath = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  await Deno.writeTextFile(kubeconfigPath, YAML.stringify(admin));
  let forwarder: { close(): void } | undefined;
  const opening = setTimeout(() => forwarder = forward(port, server), 1500);
  try {
    const result = await runStep({
      namespace: namespace.name,
      kubeconfigPath,
      plugin: { "image": "alpine:3", "init-image": "" },
      command: "echo made it",
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /kubernetes plugin: creating Job scenario-1-[0-9a-f]{10} failed \(.*Connection refused.*\); retrying in 0\.3s\n/,
    );
    assert.match(result.stdout, /\+\+\+ :kubernetes: alpine:3\nmade it\n/);
  } finally {
    clearTimeout(opening);
    forwarder?.close();
    await Deno.remove(kubeconfigPath);
  }
});

Deno.test("a Job the API server rejects: final at once, with the server's message (90)", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: {
      "image": "alpine:3",
      "init-image": "",
      "patch":
        "function(job) job + {spec+: {template+: {spec+: {containers: [c + {name: 'Not_A_Name'} for c in super.containers]}}}}",
    },
    command: "true",
  });
  assert.equal(result.status, 90, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    /creating Job scenario-1-[0-9a-f]{10} failed \(422 Invalid\): Job\.batch "scenario-1-[0-9a-f]{10}" is invalid: spec\.template\.spec\.containers\[0\]\.name: Invalid value: "Not_A_Name"/,
  );
  assert.equal(result.stdout.includes("retrying"), false);
});
