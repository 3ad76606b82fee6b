/**
 * A kubeconfig whose user proves who it is with a client certificate (what kind, minikube and
 * kubeadm write), embedded as `client-certificate-data` or as files next to the kubeconfig:
 * the step runs to its end and its Job is deleted, and cleanup reaches the cluster, with that
 * certificate.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { readKubeconfig } from "../cluster/kubeconfig.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";
import { objectNames } from "./fixtures.ts";

async function openssl(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", { args, stderr: "piped" })
    .output();
  assert.ok(success, new TextDecoder().decode(stderr));
}

/** A client certificate the cluster's CA signed, for a member of `system:masters`. */
async function clientCertificate(
  dir: string,
  version: 1 | 3,
): Promise<{ cert: string; key: string }> {
  const pki = `${testCluster().stateDir}/pki`;
  const [cert, key, request] = [`${dir}/user.crt`, `${dir}/user.key`, `${dir}/user.csr`];
  // deno-fmt-ignore
  await openssl([
    "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", request, "-subj", "/O=system:masters/CN=kbk-certificate-user",
  ]);
  // Version 3 with the usages kubeadm gives; without extensions, openssl issues version 1.
  const extensions = `${dir}/user.ext`;
  await Deno.writeTextFile(
    extensions,
    "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
  );
  // deno-fmt-ignore
  await openssl([
    "x509", "-req", "-in", request, "-CA", `${pki}/ca.crt`, "-CAkey", `${pki}/ca.key`,
    "-CAcreateserial", "-out", cert, "-days", "1",
    ...(version === 3 ? ["-extfile", extensions] : []),
  ]);
  return { cert, key };
}

async function kubeconfig(user: Record<string, string>): Promise<string> {
  const { server, caCert } = await readKubeconfig(testCluster().kubeconfigPath);
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "local", cluster: { server, "certificate-authority-data": btoa(caCert) } }],
    users: [{ name: "certificate-user", user }],
    contexts: [{ name: "local", context: { cluster: "local", user: "certificate-user" } }],
    "current-context": "local",
  });
}

const FORMS = [
  { form: "embedded", version: 3 },
  { form: "files next to the kubeconfig", version: 3 },
  { form: "embedded", version: 1 },
] as const;

for (const { form, version } of FORMS) {
  Deno.test(`a kubeconfig with a client certificate (X.509 v${version}, ${form}) runs a step and cleans it up`, async () => {
    await using namespace = await freshNamespace();
    const dir = await Deno.makeTempDir({ prefix: "kbk-client-cert-" });
    try {
      const files = await clientCertificate(dir, version);
      const user: Record<string, string> = form === "embedded"
        ? {
          "client-certificate-data": btoa(await Deno.readTextFile(files.cert)),
          "client-key-data": btoa(await Deno.readTextFile(files.key)),
        }
        // Relative paths are relative to the kubeconfig's own directory.
        : { "client-certificate": "user.crt", "client-key": "./user.key" };
      const kubeconfigPath = `${dir}/config`;
      await Deno.writeTextFile(kubeconfigPath, await kubeconfig(user));
      const step = {
        namespace: namespace.name,
        plugin: { image: "alpine:3", "init-image": "" },
        kubeconfigPath,
      };
      const result = await runStep({ ...step, command: "echo hello from a certificate user" });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^hello from a certificate user$/m);
      // The command hook deleted its Job with the same certificate; cleanup finds none.
      assert.deepEqual(await objectNames(namespace.name, "jobs"), [], result.stdout);
      const cleanup = await runStep({ ...step, subcommand: "cleanup", jobId: result.jobId });
      assert.equal(cleanup.status, 0, cleanup.stdout + cleanup.stderr);
      assert.doesNotMatch(cleanup.stdout, /could not|skipped/, cleanup.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
