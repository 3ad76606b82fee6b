/**
 * `sidecars` on an API server older than native sidecars (a stand-in answering `GET /version`
 * as Kubernetes 1.28 does): the hook refuses with 78, naming the option and the server's
 * version, before creating anything. Without `sidecars`, the version is not asked.
 */
import assert from "node:assert/strict";
import { runStep } from "./step_runner.ts";

/** An API server that answers only `GET /version`, as v1.28.9, and records every request. */
async function oldApiServer() {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { pathname } = new URL(request.url);
    requests.push(`${request.method} ${pathname}`);
    if (pathname === "/version") {
      return Response.json({ major: "1", minor: "28", gitVersion: "v1.28.9" });
    }
    return Response.json({ kind: "Status", status: "Failure", message: "not served", code: 403 }, {
      status: 403,
    });
  });
  const dir = await Deno.makeTempDir({ prefix: "kbk-old-api-" });
  const kubeconfigPath = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "old", cluster: { server: `http://127.0.0.1:${server.addr.port}` } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: "c", context: { cluster: "old", user: "u", namespace: "default" } }],
      "current-context": "c",
    }),
  );
  return {
    kubeconfigPath,
    requests,
    [Symbol.asyncDispose]: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("sidecars on Kubernetes 1.28: refused with 78, naming the option and the version, nothing created", async () => {
  await using api = await oldApiServer();
  const result = await runStep({
    namespace: "default",
    kubeconfigPath: api.kubeconfigPath,
    plugin: { image: "alpine:3", sidecars: [{ name: "db", image: "postgres:16" }] },
    command: "true",
  });
  assert.equal(result.status, 78, result.stdout + result.stderr);
  assert.match(
    result.stdout + result.stderr,
    /option `sidecars` needs Kubernetes 1\.29 or later \(native sidecar containers: init containers with restartPolicy: Always\), but the API server is v1\.28\.9/,
  );
  assert.deepEqual(api.requests, ["GET /version"]);
});

Deno.test("without sidecars the server's version is not asked", async () => {
  await using api = await oldApiServer();
  const result = await runStep({
    namespace: "default",
    kubeconfigPath: api.kubeconfigPath,
    plugin: { image: "alpine:3" },
    command: "true",
  });
  assert.notEqual(result.status, 0, result.stdout + result.stderr);
  assert.ok(api.requests.length > 0, "the step went on to the API");
  assert.ok(!api.requests.includes("GET /version"), api.requests.join(", "));
});
