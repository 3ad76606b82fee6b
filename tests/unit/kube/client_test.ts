import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig, resolveNamespace } from "../../../src/kube/client.ts";
import { UserError } from "../../../src/exit_status.ts";

function kubeconfig(namespace?: string): string {
  const dir = Deno.makeTempDirSync({ prefix: "kubeconfig-test-" });
  const path = `${dir}/config`;
  Deno.writeTextFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443" } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{
        name: "x",
        context: { cluster: "c", user: "u", ...(namespace ? { namespace } : {}) },
      }],
      "current-context": "x",
    }),
  );
  return path;
}

Deno.test("KUBECONFIG wins over ~/.kube/config", () => {
  const home = Deno.makeTempDirSync();
  Deno.mkdirSync(`${home}/.kube`);
  Deno.copyFileSync(kubeconfig("from-home"), `${home}/.kube/config`);
  const { config, source } = loadKubeConfig({ KUBECONFIG: kubeconfig("from-env"), HOME: home });
  assert.equal(source, "KUBECONFIG");
  assert.equal(resolveNamespace(undefined, config, source), "from-env");
  const fallback = loadKubeConfig({ HOME: home });
  assert.equal(fallback.source, "~/.kube/config");
  assert.equal(resolveNamespace(undefined, fallback.config, fallback.source), "from-home");
});

Deno.test("the namespace: the option, else the context's, else default", () => {
  const { config, source } = loadKubeConfig({ KUBECONFIG: kubeconfig() });
  assert.equal(resolveNamespace("ci", config, source), "ci");
  assert.equal(resolveNamespace(undefined, config, source), "default");
  const withContext = loadKubeConfig({ KUBECONFIG: kubeconfig("builds") });
  assert.equal(resolveNamespace(undefined, withContext.config, withContext.source), "builds");
  assert.equal(resolveNamespace("ci", withContext.config, withContext.source), "ci");
});

Deno.test("no cluster configured is a clear error", () => {
  assert.throws(
    () => loadKubeConfig({ HOME: Deno.makeTempDirSync() }),
    (error: unknown) =>
      error instanceof UserError &&
      /no Kubernetes cluster configured: set KUBECONFIG/.test(error.message),
  );
});

Deno.test("an unreadable KUBECONFIG is a clear error", () => {
  assert.throws(
    () => loadKubeConfig({ KUBECONFIG: "/nonexistent/config" }),
    /cannot load the Kubernetes configuration/,
  );
  assert.ok(new KubeConfig());
});
