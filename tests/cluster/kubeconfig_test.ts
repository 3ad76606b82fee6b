import assert from "node:assert/strict";
import { parseKubeconfig, renderKubeconfig } from "./kubeconfig.ts";

const connection = {
  server: "https://127.0.0.1:6443",
  token: "abc",
  caCert: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
};

Deno.test("a rendered kubeconfig reads back as the same connection", () => {
  assert.deepEqual(parseKubeconfig(renderKubeconfig(connection)), connection);
});

Deno.test("parseKubeconfig names what a foreign kubeconfig lacks", () => {
  const text = renderKubeconfig(connection).replace("token: abc", "client-key-data: eHh4");
  assert.throws(() => parseKubeconfig(text, "/tmp/k"), /\/tmp\/k: the current context needs/);
});
