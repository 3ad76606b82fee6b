/**
 * Run by client_test.ts with HTTP_PROXY set: reads a stream from the server at the URL given
 * and prints its body.
 *
 * @module
 */
import { Api } from "../../../src/kube/client.ts";

const api = new Api({
  source: "KUBECONFIG",
  server: Deno.args[0],
  verify: true,
  credentials: () => Promise.resolve({ headers: {} }),
});
const { body } = await api.stream("/log");
let text = "";
for await (const chunk of body) text += new TextDecoder().decode(chunk);
console.log(text);
api.close();
