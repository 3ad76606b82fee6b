import assert from "node:assert/strict";
import { createClusterPki } from "./pki.ts";

async function openssl(...args: string[]): Promise<string> {
  const output = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  return new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
}

Deno.test("the cluster PKI: a CA, a server certificate it signed for 127.0.0.1, an RSA key, a client certificate for the kubelet", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kbk-pki-test-" });
  try {
    const pki = await createClusterPki(dir);
    assert.match(await openssl("verify", "-CAfile", pki.caCert, pki.serverCert), /: OK/);
    const server = await openssl("x509", "-in", pki.serverCert, "-noout", "-ext", "subjectAltName");
    assert.match(server, /IP Address:127\.0\.0\.1/);
    assert.match(server, /DNS:kubernetes\.default\.svc/);
    assert.match(
      await openssl("pkey", "-in", pki.serviceAccountKey, "-noout", "-text"),
      /Private-Key: \(2048 bit/,
    );
    assert.match(await openssl("verify", "-CAfile", pki.caCert, pki.kubeletClientCert), /: OK/);
    const client = await openssl(
      "x509",
      "-in",
      pki.kubeletClientCert,
      "-noout",
      "-subject",
      "-ext",
      "extendedKeyUsage",
    );
    assert.match(client, /TLS Web Client Authentication/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
