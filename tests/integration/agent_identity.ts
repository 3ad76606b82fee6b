/**
 * The agent chart's identity on the test cluster: its ServiceAccount, Role and RoleBinding
 * in a namespace and, when the chart renders them, its cluster-wide admission policies;
 * with a kubeconfig and a client authenticated as that ServiceAccount (a TokenRequest
 * token), to act as the agent, or as another plugin's hook with the agent's credentials.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import type { Cluster } from "../cluster/testing.ts";
import { ApiClient } from "../cluster/api_client.ts";
import { parseKubeconfig, renderKubeconfig } from "../cluster/kubeconfig.ts";
import { binaryPath, helmTemplate, run } from "../helm.ts";

/** The chart's release name, so its ServiceAccount is `agent`. */
export const RELEASE = "agent";

const KINDS = [
  "ServiceAccount",
  "Role",
  "RoleBinding",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
];

/** The chart's agent identity, installed; disposing it removes its cluster-wide objects. */
export interface AgentIdentity extends AsyncDisposable {
  /** The ServiceAccount's name. */
  serviceAccount: string;
  /** A kubeconfig authenticated as the ServiceAccount. */
  kubeconfigPath: string;
  /** A client authenticated as the ServiceAccount. */
  api: ApiClient;
  /** The cluster-wide objects applied, as `kind/name`. */
  clusterObjects: string[];
}

function kubectl(cluster: Cluster, args: string[], input?: string) {
  return run(binaryPath("kubectl"), ["--kubeconfig", cluster.kubeconfigPath, ...args], input);
}

/**
 * Renders the agent chart for `namespace` with `set`, applies (server-side) its identity
 * and admission policies, and authenticates as its ServiceAccount.
 */
export async function installAgentIdentity(
  cluster: Cluster,
  namespace: string,
  options: { set?: string[] } = {},
): Promise<AgentIdentity> {
  // The agent and its steps in one namespace: the identity, not the chart's layout, is tested.
  const manifests = helmTemplate("agent", {
    namespace,
    release: RELEASE,
    set: ["stepsNamespace.enabled=false", ...options.set ?? []],
  });
  const wanted = YAML.parseAllDocuments(manifests).map((document) => document.toJSON())
    .filter((object) => KINDS.includes(object?.kind));
  const clusterObjects = wanted.filter((object) => !object.metadata.namespace)
    .map((object) => `${object.kind}/${object.metadata.name}`);
  const applied = kubectl(
    cluster,
    ["apply", "--server-side", "--field-manager", "kbk-test", "-f", "-"],
    wanted.map((object) => YAML.stringify(object)).join("---\n"),
  );
  if (applied.status !== 0 && clusterObjects.length) {
    // What was applied before the failure is cluster-wide: it must not outlive the test.
    kubectl(cluster, ["delete", "--ignore-not-found", ...clusterObjects]);
  }
  assert.equal(applied.status, 0, applied.stderr);
  const serviceAccount = wanted.find((object) => object.kind === "ServiceAccount").metadata.name;
  const request = await cluster.api.post<{ status: { token: string } }>(
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 },
    },
  );
  const connection = { ...cluster.api.connection, token: request.status.token };
  const kubeconfigPath = await Deno.makeTempFile({
    prefix: "kbk-agent-sa-",
    suffix: ".kubeconfig",
  });
  const text = renderKubeconfig(connection, "agent-service-account");
  await Deno.writeTextFile(kubeconfigPath, text);
  const api = new ApiClient(parseKubeconfig(text, kubeconfigPath));
  return {
    serviceAccount,
    kubeconfigPath,
    api,
    clusterObjects,
    async [Symbol.asyncDispose]() {
      api.close();
      await Deno.remove(kubeconfigPath);
      if (clusterObjects.length) {
        const deleted = kubectl(cluster, ["delete", "--ignore-not-found", ...clusterObjects]);
        assert.equal(deleted.status, 0, deleted.stderr);
      }
    },
  };
}
