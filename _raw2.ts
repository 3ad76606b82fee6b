const kc = Deno.readTextFileSync(Deno.env.get("KUBECONFIG")!);
const ca = atob(kc.match(/certificate-authority-data: (\S+)/)![1]);
const token = kc.match(/token: (\S+)/)![1];
const client = Deno.createHttpClient({ caCerts: [ca], http2: Deno.args[0] === "h2" });
const t0 = performance.now();
const r = await fetch(
  "https://127.0.0.1:35437/api/v1/namespaces/dbg/pods/keep-1-b4816c11b8-jmglr/log?container=step&timestamps=true",
  { client, headers: { Authorization: "Bearer " + token } },
);
let n = 0, chunks = 0;
const reader = r.body!.getReader();
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  const copy = value.slice();
  n += copy.length;
  chunks++;
}
console.log("bytes", n, "chunks", chunks, "ms", Math.round(performance.now() - t0));
