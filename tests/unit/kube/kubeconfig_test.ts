/** Reading the cluster configuration as kubectl does, without a cluster. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import YAML from "yaml";
import { UserError } from "../../../src/exit_status.ts";
import { loadClusterAccess, resolveNamespace } from "../../../src/kube/kubeconfig.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

function dir(): string {
  return Deno.makeTempDirSync({ prefix: "kubeconfig-test-" });
}

/** A kubeconfig file with one context `x` on cluster `c` as user `u`. */
function kubeconfig(
  at: string,
  parts: {
    cluster?: Record<string, unknown>;
    user?: Record<string, unknown>;
    namespace?: string;
    current?: string;
  },
  name = "config",
): string {
  const path = `${at}/${name}`;
  Deno.writeTextFileSync(
    path,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443/", ...parts.cluster } }],
      users: [{ name: "u", user: parts.user ?? { token: "t" } }],
      contexts: [{
        name: "x",
        context: {
          cluster: "c",
          user: "u",
          ...(parts.namespace ? { namespace: parts.namespace } : {}),
        },
      }],
      ...(parts.current === "" ? {} : { "current-context": parts.current ?? "x" }),
    }),
  );
  return path;
}

Deno.test("KUBECONFIG wins over ~/.kube/config; the server loses its trailing slash", async () => {
  const home = dir();
  Deno.mkdirSync(`${home}/.kube`);
  kubeconfig(`${home}/.kube`, { namespace: "from-home", user: { token: "home" } });
  const fromEnv = await loadClusterAccess({
    KUBECONFIG: kubeconfig(dir(), { namespace: "from-env" }),
    HOME: home,
  });
  assert.equal(fromEnv.source, "KUBECONFIG");
  assert.equal(fromEnv.server, "https://127.0.0.1:6443");
  assert.equal(resolveNamespace(undefined, fromEnv), "from-env");
  const fromHome = await loadClusterAccess({ HOME: home });
  assert.equal(fromHome.source, "~/.kube/config");
  assert.deepEqual((await fromHome.credentials()).headers, { Authorization: "Bearer home" });
});

Deno.test("several KUBECONFIG files merge as kubectl merges them: the first name and current-context win", async () => {
  const at = dir();
  const first = `${at}/first`;
  Deno.writeTextFileSync(
    first,
    YAML.stringify({ users: [{ name: "u", user: { token: "first" } }] }),
  );
  const second = kubeconfig(at, { user: { token: "second" }, namespace: "ns" }, "second");
  const access = await loadClusterAccess({ KUBECONFIG: `${first}:${second}` });
  assert.deepEqual((await access.credentials()).headers, { Authorization: "Bearer first" });
  assert.equal(access.namespace, "ns");
});

Deno.test("the namespace: the option, else the context's, else default", async () => {
  assert.equal(
    resolveNamespace(
      "ci",
      await loadClusterAccess({ KUBECONFIG: kubeconfig(dir(), { namespace: "ns" }) }),
    ),
    "ci",
  );
  assert.equal(
    resolveNamespace(undefined, await loadClusterAccess({ KUBECONFIG: kubeconfig(dir(), {}) })),
    "default",
  );
});

Deno.test("CA, client certificate and key from files relative to the kubeconfig, or from -data", async () => {
  const at = dir();
  Deno.mkdirSync(`${at}/pki`);
  Deno.writeTextFileSync(`${at}/pki/ca.crt`, CA);
  Deno.writeTextFileSync(`${at}/pki/client.crt`, "client cert");
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(at, {
      cluster: { "certificate-authority": "pki/ca.crt", "tls-server-name": "kubernetes" },
      user: {
        "client-certificate": "pki/client.crt",
        "client-key-data": Buffer.from("client key").toString("base64"),
      },
    }),
  });
  assert.equal(String(access.ca), CA);
  assert.equal(access.verify, true);
  assert.equal(access.serverName, "kubernetes");
  const credentials = await access.credentials();
  assert.equal(String(credentials.cert), "client cert");
  assert.equal(String(credentials.key), "client key");
  assert.deepEqual(credentials.headers, {});
});

Deno.test("insecure-skip-tls-verify turns verification off", async () => {
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(dir(), { cluster: { "insecure-skip-tls-verify": true } }),
  });
  assert.equal(access.verify, false);
});

Deno.test("a tokenFile is read for each request, so a rotated token is used", async () => {
  const at = dir();
  Deno.writeTextFileSync(`${at}/token`, "one\n");
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(at, { user: { tokenFile: "token" } }),
  });
  assert.deepEqual((await access.credentials()).headers, { Authorization: "Bearer one" });
  Deno.writeTextFileSync(`${at}/token`, "two\n");
  assert.deepEqual((await access.credentials()).headers, { Authorization: "Bearer two" });
});

Deno.test("basic auth", async () => {
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(dir(), { user: { username: "admin", password: "s3cret" } }),
  });
  assert.deepEqual((await access.credentials()).headers, {
    Authorization: `Basic ${Buffer.from("admin:s3cret").toString("base64")}`,
  });
});

/** A fake exec credential plugin that counts its runs and answers `status`. */
function execPlugin(at: string, status: Record<string, unknown>): string {
  const path = `${at}/credential-plugin`;
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\necho run >> "${at}/runs"\nprintf '%s' "$KUBERNETES_EXEC_INFO" > "${at}/info"\n` +
      `echo "$PLUGIN_GREETING" > "${at}/env"\n` +
      `cat <<'JSON'\n${
        JSON.stringify({
          apiVersion: "client.authentication.k8s.io/v1",
          kind: "ExecCredential",
          status,
        })
      }\nJSON\n`,
  );
  Deno.chmodSync(path, 0o755);
  return path;
}

Deno.test("an exec credential plugin is run once and its credential kept until it expires", async () => {
  const at = dir();
  const plugin = execPlugin(at, {
    token: "from-exec",
    expirationTimestamp: new Date(Date.now() + 3600_000).toISOString(),
  });
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(at, {
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: plugin,
          env: [{ name: "PLUGIN_GREETING", value: "hello" }],
          provideClusterInfo: true,
        },
      },
    }),
  });
  assert.deepEqual((await access.credentials()).headers, { Authorization: "Bearer from-exec" });
  assert.deepEqual((await access.credentials()).headers, { Authorization: "Bearer from-exec" });
  assert.equal(Deno.readTextFileSync(`${at}/runs`), "run\n");
  assert.equal(Deno.readTextFileSync(`${at}/env`), "hello\n");
  const info = JSON.parse(Deno.readTextFileSync(`${at}/info`));
  assert.equal(info.kind, "ExecCredential");
  assert.equal(info.spec.cluster.server, "https://127.0.0.1:6443");
});

Deno.test("an expired exec credential is renewed; a client certificate from exec is used", async () => {
  const at = dir();
  const plugin = execPlugin(at, {
    clientCertificateData: "exec cert",
    clientKeyData: "exec key",
    expirationTimestamp: new Date(Date.now() - 1000).toISOString(),
  });
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(at, { user: { exec: { command: plugin } } }),
  });
  const credentials = await access.credentials();
  assert.equal(credentials.cert, "exec cert");
  assert.equal(credentials.key, "exec key");
  await access.credentials();
  assert.equal(Deno.readTextFileSync(`${at}/runs`), "run\nrun\n");
});

Deno.test("a failing exec plugin is a clear error", async () => {
  const at = dir();
  Deno.writeTextFileSync(`${at}/broken`, "#!/bin/sh\necho 'error: not logged in' >&2\nexit 1\n");
  Deno.chmodSync(`${at}/broken`, 0o755);
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(at, { user: { exec: { command: `${at}/broken` } } }),
  });
  await assert.rejects(
    () => access.credentials(),
    (error: unknown) =>
      error instanceof UserError &&
      /exec credential plugin .*broken failed: error: not logged in/.test(error.message),
  );
});

Deno.test("an auth-provider user is handled by client-node", async () => {
  // An OIDC id-token is a JWT; client-node reads its expiry before using it.
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const idToken = `${part({ alg: "none" })}.${
    part({ exp: Math.floor(Date.now() / 1000) + 3600 })
  }.sig`;
  const access = await loadClusterAccess({
    KUBECONFIG: kubeconfig(dir(), {
      user: {
        "auth-provider": {
          name: "oidc",
          config: { "id-token": idToken, "idp-issuer-url": "https://issuer" },
        },
      },
    }),
  });
  assert.deepEqual((await access.credentials()).headers, { Authorization: `Bearer ${idToken}` });
});
Deno.test("in a pod: the service account's token (read for each request), CA and namespace", async () => {
  const account = dir();
  Deno.writeTextFileSync(`${account}/token`, "sa-token-1");
  Deno.writeTextFileSync(`${account}/ca.crt`, CA);
  Deno.writeTextFileSync(`${account}/namespace`, "buildkite\n");
  const access = await loadClusterAccess(
    { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443", HOME: dir() },
    { serviceAccountDir: account },
  );
  assert.equal(access.source, "in-cluster");
  assert.equal(access.server, "https://10.0.0.1:443");
  assert.equal(String(access.ca), CA);
  assert.equal(resolveNamespace(undefined, access), "buildkite");
  assert.deepEqual((await access.credentials()).headers, { Authorization: "Bearer sa-token-1" });
  Deno.writeTextFileSync(`${account}/token`, "sa-token-2");
  assert.deepEqual((await access.credentials()).headers, { Authorization: "Bearer sa-token-2" });
  const v6 = await loadClusterAccess({ KUBERNETES_SERVICE_HOST: "fd00::1", HOME: dir() }, {
    serviceAccountDir: account,
  });
  assert.equal(v6.server, "https://[fd00::1]:443");
});

const broken: [string, () => string, RegExp][] = [
  ["no configuration at all", () => "", /no Kubernetes cluster configured: set KUBECONFIG/],
  [
    "an unreadable KUBECONFIG",
    () => "/nonexistent/kubeconfig",
    /cannot read the kubeconfig \/nonexistent\/kubeconfig/,
  ],
  ["invalid YAML", () => {
    const path = `${dir()}/config`;
    Deno.writeTextFileSync(path, "clusters: [");
    return path;
  }, /is not valid YAML/],
  ["no current-context", () => kubeconfig(dir(), { current: "" }), /has no current-context/],
  [
    "a current-context that does not exist",
    () => kubeconfig(dir(), { current: "nope" }),
    /has no context named nope/,
  ],
];
for (const [name, path, message] of broken) {
  Deno.test(`a kubeconfig problem is a clear error: ${name}`, async () => {
    const kubeconfigPath = path();
    await assert.rejects(
      () => loadClusterAccess(kubeconfigPath ? { KUBECONFIG: kubeconfigPath } : { HOME: dir() }),
      (error: unknown) => error instanceof UserError && message.test(error.message),
    );
  });
}
