/**
 * The admin kubeconfig of the local control plane: one cluster (CA embedded), one user (a
 * bearer token), one context. Reading it back gives an `ApiConnection`.
 *
 * @module
 */

import { parse, stringify } from "yaml";
import type { ApiConnection } from "./api_client.ts";

/** Renders a kubeconfig for the connection. */
export function renderKubeconfig(connection: ApiConnection, name = "kbk-local"): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name,
      cluster: {
        server: connection.server,
        "certificate-authority-data": btoa(connection.caCert),
      },
    }],
    users: [{ name: `${name}-admin`, user: { token: connection.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
    "current-context": name,
  });
}

interface KubeconfigFile {
  clusters?: { name: string; cluster: Record<string, string> }[];
  users?: { name: string; user: Record<string, string> }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  "current-context"?: string;
}

/**
 * Reads the current context's server, token and CA from a kubeconfig of the shape
 * `renderKubeconfig` writes; throws naming what is missing otherwise.
 */
export function parseKubeconfig(text: string, source = "kubeconfig"): ApiConnection {
  const config = parse(text) as KubeconfigFile;
  const context = config.contexts?.find((entry) => entry.name === config["current-context"]);
  const cluster = config.clusters?.find((entry) => entry.name === context?.context.cluster);
  const user = config.users?.find((entry) => entry.name === context?.context.user);
  const server = cluster?.cluster.server;
  const ca = cluster?.cluster["certificate-authority-data"];
  const token = user?.user.token;
  if (!server || !ca || !token) {
    throw new Error(
      `${source}: the current context needs a server, certificate-authority-data and a token`,
    );
  }
  return { server, token, caCert: atob(ca) };
}

/** Reads a kubeconfig file (see `parseKubeconfig`). */
export async function readKubeconfig(path: string): Promise<ApiConnection> {
  return parseKubeconfig(await Deno.readTextFile(path), path);
}
