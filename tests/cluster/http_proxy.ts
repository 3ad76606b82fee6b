/**
 * The API server behind a plain-HTTP proxy that sees each request, for tests in which one
 * particular request must misbehave: an answer lost after the server acted on the request,
 * or a request that reaches the server late. The program talks HTTP to the proxy (its
 * kubeconfig allows `http://` servers), the proxy HTTPS to the API server, with the cluster's
 * CA, with the token of the kubeconfig it stands in front of.
 *
 * @module
 */
import { readKubeconfig, renderKubeconfig } from "./kubeconfig.ts";

/** A request as the proxy received it, its body read in full. */
export interface ProxiedRequest {
  /** `GET`, `POST`, … */
  method: string;
  /** The path, without the query. */
  path: string;
  /** The body, if any. */
  body?: Uint8Array;
}

/**
 * Decides what the program gets for a request: `forward()` sends it to the API server (at
 * any time, even after the program has gone) and gives the server's answer.
 */
export type Handler = (request: ProxiedRequest, forward: () => Promise<Response>) => Promise<
  Response
>;

/** A running proxy. */
export interface HttpProxy extends AsyncDisposable {
  /** A kubeconfig file whose server is the proxy, with the token of the one behind it. */
  kubeconfigPath: string;
  /** Stops the proxy and removes the kubeconfig. */
  close(): Promise<void>;
}

/**
 * Puts the API server of `kubeconfigPath` (a kubeconfig as `renderKubeconfig` writes it)
 * behind a proxy that lets `handle` decide each request.
 */
export async function startHttpProxy(kubeconfigPath: string, handle: Handler): Promise<HttpProxy> {
  const connection = await readKubeconfig(kubeconfigPath);
  const client = Deno.createHttpClient({ caCerts: [connection.caCert] });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (
    request,
  ) => {
    const url = new URL(request.url);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const headers = new Headers(request.headers);
    headers.delete("host");
    // The program's stream is passed on as it comes, not decompressed and re-encoded.
    headers.set("accept-encoding", "identity");
    const forward = async () => {
      const answer = await fetch(`${connection.server}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body,
        client,
      });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    };
    return await handle({ method: request.method, path: url.pathname, body }, forward);
  });
  const proxyKubeconfig = await Deno.makeTempFile({ prefix: "kbk-http-proxy-", suffix: ".yaml" });
  await Deno.writeTextFile(
    proxyKubeconfig,
    renderKubeconfig({ ...connection, server: `http://127.0.0.1:${server.addr.port}` }),
  );
  const close = async () => {
    await server.shutdown();
    client.close();
    await Deno.remove(proxyKubeconfig).catch(() => {});
  };
  return { kubeconfigPath: proxyKubeconfig, close, [Symbol.asyncDispose]: close };
}
