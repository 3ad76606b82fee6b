import assert from "node:assert/strict";
import { ApiClient } from "./api_client.ts";
import { Informer } from "./informer.ts";
import type { ConfigMap } from "./kube_types.ts";
import { readKubeconfig } from "./kubeconfig.ts";
import { freshNamespace, startTcpProxy, testCluster } from "./testing.ts";

Deno.test("an informer behind a proxy that keeps dropping connections sees every change", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await using proxy = await startTcpProxy(cluster, { cutEveryMs: 150 });
  const client = new ApiClient(await readKubeconfig(proxy.kubeconfigPath));
  const stop = new AbortController();
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => settle = resolve);
  let expected = (store: Map<string, ConfigMap>) => store.size === 0;
  const informer: Informer<ConfigMap> = new Informer<ConfigMap>(client, {
    path: `/api/v1/namespaces/${ns}/configmaps`,
    labelSelector: "kbk.test/watched=yes",
    signal: stop.signal,
    onChange: () => {
      if (expected(informer.store)) settle();
    },
  });
  try {
    await informer.synced;
    const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
    expected = (store) =>
      store.size === 20 && [...store.values()].every((map) => map.data?.version === "2");
    for (let index = 0; index < 20; index++) {
      await cluster.api.post(configMaps, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `map-${index}`, labels: { "kbk.test/watched": "yes" } },
        data: { version: "1" },
      });
      // Besides the periodic cuts, which a fast run can finish before: the patch's event can
      // only arrive over a watch opened after this cut.
      proxy.cutAll();
      await cluster.api.patch(`${configMaps}/map-${index}`, { data: { version: "2" } });
    }
    if (!expected(informer.store)) {
      const timeout = AbortSignal.timeout(30_000);
      await Promise.race([
        settled,
        new Promise((_, reject) => timeout.addEventListener("abort", () => reject(timeout.reason))),
      ]);
    }
    assert.equal(informer.store.size, 20);
    assert.ok(proxy.accepted > 1, `the proxy cut connections (${proxy.accepted} accepted)`);
  } finally {
    stop.abort();
    await informer.done;
    client.close();
  }
});
