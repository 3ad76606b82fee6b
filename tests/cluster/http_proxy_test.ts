import assert from "node:assert/strict";
import { startHttpProxy } from "./http_proxy.ts";
import { readKubeconfig } from "./kubeconfig.ts";
import { testCluster } from "./testing.ts";

Deno.test("the HTTP proxy forwards to the API server with its token, and a handler may answer instead", async () => {
  const seen: string[] = [];
  await using proxy = await startHttpProxy(testCluster().kubeconfigPath, (request, forward) => {
    seen.push(`${request.method} ${request.path}`);
    return request.path === "/version"
      ? Promise.resolve(new Response("held", { status: 503 }))
      : forward();
  });
  const { server, token } = await readKubeconfig(proxy.kubeconfigPath);
  assert.match(server, /^http:\/\/127\.0\.0\.1:\d+$/);
  const headers = { authorization: `Bearer ${token}` };
  // Anonymous requests may not read a namespace: this one went with the token.
  const namespace = await fetch(`${server}/api/v1/namespaces/default`, { headers });
  assert.equal(namespace.status, 200);
  assert.equal((await namespace.json()).metadata.name, "default");
  const version = await fetch(`${server}/version`, { headers });
  assert.deepEqual([version.status, await version.text()], [503, "held"]);
  assert.deepEqual(seen, ["GET /api/v1/namespaces/default", "GET /version"]);
});
