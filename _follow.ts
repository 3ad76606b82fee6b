import { Api } from "./src/kube/client.ts";
import { loadClusterAccess } from "./src/kube/kubeconfig.ts";
import { followLog } from "./src/follow/logs.ts";
import { Output } from "./src/report.ts";
const api = new Api(await loadClusterAccess(Deno.env.toObject()));
const out = new Output();
const t0 = performance.now();
const end = await followLog({
  api,
  namespace: "dbg",
  pod: "keep-1-b4816c11b8-jmglr",
  container: "step",
  progress: {
    started: Promise.resolve(),
    terminated: () => true,
    whenTerminated: Promise.resolve(),
  },
  write: (b) => Deno.args[0] === "stdout" ? out.write(b) : Promise.resolve(),
  signal: new AbortController().signal,
});
console.error(end, Math.round(performance.now() - t0), "ms");
api.close();
