/**
 * Keys and certificates for the local control plane, made with the `openssl` command line:
 * a CA, the API server's serving certificate signed by it, the service-account signing key,
 * and the API server's client certificate for the kubelet (to read logs).
 *
 * @module
 */

/** The files of the cluster's PKI. */
export interface ClusterPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** RSA private key that signs service-account tokens. */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
  /** The API server's client certificate for the kubelet's API (logs, exec). */
  kubeletClientCert: string;
  kubeletClientKey: string;
}

const SERVER_NAMES = [
  "DNS:localhost",
  "DNS:kubernetes",
  "DNS:kubernetes.default",
  "DNS:kubernetes.default.svc",
  "DNS:kubernetes.default.svc.cluster.local",
  "IP:127.0.0.1",
  "IP:10.0.0.1",
];

// EC keys are generated in milliseconds; only the service-account key has to be RSA.
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Creates the cluster's PKI in `dir` (which must exist). */
export async function createClusterPki(dir: string): Promise<ClusterPki> {
  const pki: ClusterPki = {
    caCert: `${dir}/ca.crt`,
    caKey: `${dir}/ca.key`,
    serverCert: `${dir}/apiserver.crt`,
    serverKey: `${dir}/apiserver.key`,
    serviceAccountKey: `${dir}/service-account.key`,
    serviceAccountPublicKey: `${dir}/service-account.pub`,
    kubeletClientCert: `${dir}/apiserver-kubelet-client.crt`,
    kubeletClientKey: `${dir}/apiserver-kubelet-client.key`,
  };
  // deno-fmt-ignore
  await openssl([
    "req", "-x509", ...NEW_EC_KEY, "-keyout", pki.caKey, "-out", pki.caCert, "-days", "3650",
    "-subj", "/CN=kbk-local-ca", "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  const request = `${dir}/apiserver.csr`;
  // deno-fmt-ignore
  await openssl([
    "req", "-new", ...NEW_EC_KEY, "-keyout", pki.serverKey, "-out", request,
    "-subj", "/CN=kube-apiserver", "-addext", `subjectAltName=${SERVER_NAMES.join(",")}`,
  ]);
  // deno-fmt-ignore
  await openssl([
    "x509", "-req", "-in", request, "-CA", pki.caCert, "-CAkey", pki.caKey, "-CAcreateserial",
    "-out", pki.serverCert, "-days", "3650", "-copy_extensions", "copy",
  ]);
  await Deno.remove(request);
  const clientRequest = `${dir}/apiserver-kubelet-client.csr`;
  // deno-fmt-ignore
  await openssl([
    "req", "-new", ...NEW_EC_KEY, "-keyout", pki.kubeletClientKey, "-out", clientRequest,
    "-subj", "/O=system:masters/CN=kube-apiserver-kubelet-client",
    "-addext", "extendedKeyUsage=clientAuth",
  ]);
  // deno-fmt-ignore
  await openssl([
    "x509", "-req", "-in", clientRequest, "-CA", pki.caCert, "-CAkey", pki.caKey,
    "-CAcreateserial", "-out", pki.kubeletClientCert, "-days", "3650", "-copy_extensions", "copy",
  ]);
  await Deno.remove(clientRequest);
  // deno-fmt-ignore
  await openssl([
    "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
    "-out", pki.serviceAccountKey,
  ]);
  await openssl([
    "pkey",
    "-in",
    pki.serviceAccountKey,
    "-pubout",
    "-out",
    pki.serviceAccountPublicKey,
  ]);
  return pki;
}

async function openssl(args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
}
