import { Api } from "./src/kube/client.ts";
import { loadClusterAccess } from "./src/kube/kubeconfig.ts";
const api = new Api(await loadClusterAccess(Deno.env.toObject()));
const t0 = performance.now();
const { body } = await api.stream("/api/v1/namespaces/dbg/pods/keep-1-b4816c11b8-jmglr/log", {
  query: { container: "step", timestamps: true },
});
let n = 0, chunks = 0;
for await (const c of body) {
  n += c.length;
  chunks++;
}
console.log("bytes", n, "chunks", chunks, "ms", Math.round(performance.now() - t0));
api.close();
