/**
 * Requests through Node's `https`, for the two TLS settings `fetch` cannot express: a server
 * certificate not verified (`insecure-skip-tls-verify`) and a server name other than the
 * URL's host (`tls-server-name`). Loaded only for a cluster that has one of them: the module
 * costs a hook process about 15 MiB.
 *
 * @module
 */
import * as http from "node:http";
import * as https from "node:https";
import type { Answer, Exchange, Transport } from "./client.ts";
import type { ClusterAccess } from "./kubeconfig.ts";

/** Requests through `node:https` (or `node:http` for an `http:` server). */
export class NodeTransport implements Transport {
  readonly #access: ClusterAccess;
  /** Connections kept for the short requests, which come in bursts. */
  readonly #agent: http.Agent;
  /** Connections of their own for watches and log streams, as `FetchTransport` has. */
  readonly #streamAgent: http.Agent;

  /** For the cluster `access` describes. */
  constructor(access: ClusterAccess) {
    this.#access = access;
    const secure = access.server.startsWith("https:");
    this.#agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 16 })
      : new http.Agent({ keepAlive: true, maxSockets: 16 });
    this.#streamAgent = secure
      ? new https.Agent({ keepAlive: false })
      : new http.Agent({ keepAlive: false });
  }

  /** Sends `exchange`; resolves with the response once its headers arrived. */
  send(exchange: Exchange): Promise<Answer> {
    const { credentials, signal, url } = exchange;
    const headers = { ...exchange.headers };
    if (exchange.body !== undefined) {
      // Without an explicit length, a DELETE goes out with no body (and so no propagationPolicy).
      headers["Content-Length"] = String(new TextEncoder().encode(exchange.body).length);
    }
    return new Promise((resolve, reject) => {
      const transport = url.protocol === "https:" ? https : http;
      const request = transport.request(url, {
        ca: this.#access.ca,
        cert: credentials.cert,
        key: credentials.key,
        rejectUnauthorized: this.#access.verify,
        servername: this.#access.serverName,
        agent: exchange.stream ? this.#streamAgent : this.#agent,
        method: exchange.method,
        headers,
        signal,
      }, (response) => {
        // Whether an abort reaches a response already streaming is up to the HTTP stack;
        // make sure it does, or a watch would live on until the server ends it.
        const destroy = () => response.destroy();
        signal.addEventListener("abort", destroy, { once: true });
        response.once("close", () => signal.removeEventListener("abort", destroy));
        resolve({
          status: response.statusCode ?? 0,
          body: response as AsyncIterable<Uint8Array> & { destroy(): void },
        });
      });
      request.on("error", (error) => reject(signal.aborted ? signal.reason ?? error : error));
      request.end(exchange.body);
    });
  }

  /** Closes the kept connections. */
  close(): void {
    this.#agent.destroy();
    this.#streamAgent.destroy();
  }
}
