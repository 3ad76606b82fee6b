/**
 * Which cluster to talk to and how to prove who we are: `KUBECONFIG` (files merged the way
 * kubectl merges them), else the pod's service account, else `~/.kube/config`.
 *
 * Read here rather than with `@kubernetes/client-node`'s KubeConfig, whose import costs each
 * hook process about half a CPU-second and 60 MiB. Tokens, token files, client certificates,
 * basic auth and `exec` credential plugins (what EKS, GKE and AKS use) are handled here; the
 * legacy `auth-provider` entries are handed to client-node, imported only for them.
 *
 * @module
 */
import { UserError } from "../exit_status.ts";
import { directoryOf, fromBase64, normalizePath, toBase64 } from "../text.ts";
import { loadYamlReader, type YamlReader } from "../yaml_reader.ts";

/** The pod's service account files, when the program runs in a pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where the cluster configuration came from. */
export type ConfigSource = "KUBECONFIG" | "in-cluster" | "~/.kube/config";

/** What a request carries to prove who it comes from. */
export interface Credentials {
  /** Headers such as `Authorization`. */
  headers: Record<string, string>;
  /** A client certificate (PEM), when the user has one. */
  cert?: string;
  /** Its key (PEM). */
  key?: string;
}

/** How to reach one cluster as one user. */
export interface ClusterAccess {
  /** Where it came from. */
  source: ConfigSource;
  /** The API server's URL, without a trailing slash. */
  server: string;
  /** The namespace the configuration names (the context's, or the pod's own), if any. */
  namespace?: string;
  /** CA certificates (PEM) to trust instead of the system's. */
  ca?: string;
  /** Whether to verify the server's certificate. */
  verify: boolean;
  /** The name to expect in the server's certificate, when not the URL's host. */
  serverName?: string;
  /** The credentials for a request, fresh (a rotated token, an expired exec credential). */
  credentials(): Promise<Credentials>;
}

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  path: string;
  clusters: Named<{ cluster?: Record<string, unknown> }>[];
  users: Named<{ user?: Record<string, unknown> }>[];
  contexts: Named<{ context?: Record<string, unknown> }>[];
  currentContext?: string;
}

function readText(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The YAML reader, loaded only when a kubeconfig file is read (a pod's access needs none). */
let parseYaml: YamlReader | undefined;

function parseKubeconfig(path: string): KubeconfigFile {
  let parsed: Record<string, unknown>;
  try {
    parsed = (parseYaml!(readText(path, "the kubeconfig")) ?? {}) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`the kubeconfig ${path} is not valid YAML: ${(error as Error).message}`);
  }
  const list = <T>(key: string) => (Array.isArray(parsed[key]) ? parsed[key] : []) as Named<T>[];
  return {
    path,
    clusters: list("clusters"),
    users: list("users"),
    contexts: list("contexts"),
    currentContext: typeof parsed["current-context"] === "string"
      ? parsed["current-context"] as string
      : undefined,
  };
}

/** A file path of a kubeconfig entry, relative to the kubeconfig's own directory. */
function relativeTo(file: KubeconfigFile, path: string): string {
  return path.startsWith("/") ? path : normalizePath(`${directoryOf(file.path)}/${path}`);
}

/** PEM from `<key>-data` (base64) or `<key>` (a file). */
function pem(
  entry: Record<string, unknown>,
  key: string,
  file: KubeconfigFile,
): string | undefined {
  const data = entry[`${key}-data`];
  if (typeof data === "string" && data !== "") return fromBase64(data);
  const path = entry[key];
  if (typeof path === "string" && path !== "") return Deno.readTextFileSync(relativeTo(file, path));
  return undefined;
}

interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  provideClusterInfo?: boolean;
}

/** How long an exec credential plugin may take, and how much it may print. */
const EXEC_TIMEOUT_MS = 60_000;
const EXEC_OUTPUT_LIMIT = 1 << 20;

/** Runs an exec credential plugin; returns what it printed, or throws with its last words. */
async function runCredentialPlugin(
  command: string,
  exec: ExecConfig,
  env: Record<string, string>,
): Promise<string> {
  const failed = (why: string) =>
    new UserError(`the kubeconfig's exec credential plugin ${exec.command} failed: ${why}`);
  const timeout = AbortSignal.timeout(EXEC_TIMEOUT_MS);
  const late = `no answer within ${EXEC_TIMEOUT_MS / 1000} s`;
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(command, {
      args: exec.args ?? [],
      env,
      clearEnv: true,
      stdin: "null",
      signal: timeout,
    }).output();
  } catch (error) {
    throw failed(timeout.aborted ? late : (error as Error).message);
  }
  const decoder = new TextDecoder();
  if (!result.success) {
    const err = decoder.decode(result.stderr).trim();
    throw failed(
      timeout.aborted ? late : err.split("\n").at(-1) || `exit status ${result.code}`,
    );
  }
  if (result.stdout.length > EXEC_OUTPUT_LIMIT) {
    throw failed(`it printed more than ${EXEC_OUTPUT_LIMIT} bytes`);
  }
  return decoder.decode(result.stdout);
}

/** Runs an exec credential plugin and keeps its answer until it expires. */
function execCredentials(
  exec: ExecConfig,
  cluster: { server: string; ca?: string; verify: boolean },
  file: KubeconfigFile,
): () => Promise<Credentials> {
  let cached: { credentials: Credentials; expires: number } | undefined;
  const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1";
  return async () => {
    if (cached && Date.now() < cached.expires) return cached.credentials;
    const info = {
      apiVersion,
      kind: "ExecCredential",
      spec: {
        interactive: false,
        ...(exec.provideClusterInfo
          ? {
            cluster: {
              server: cluster.server,
              "insecure-skip-tls-verify": !cluster.verify,
              ...(cluster.ca ? { "certificate-authority-data": toBase64(cluster.ca) } : {}),
            },
          }
          : {}),
      },
    };
    const env = {
      ...Deno.env.toObject(),
      ...Object.fromEntries((exec.env ?? []).map(({ name, value }) => [name, value])),
      KUBERNETES_EXEC_INFO: JSON.stringify(info),
    };
    const command = exec.command.includes("/") ? relativeTo(file, exec.command) : exec.command;
    const stdout = await runCredentialPlugin(command, exec, env);
    let status: Record<string, string | undefined>;
    try {
      status = JSON.parse(stdout).status ?? {};
    } catch {
      throw new UserError(
        `the kubeconfig's exec credential plugin ${exec.command} printed no ExecCredential`,
      );
    }
    const credentials: Credentials = {
      headers: status.token ? { Authorization: `Bearer ${status.token}` } : {},
      cert: status.clientCertificateData,
      key: status.clientKeyData,
    };
    // A credential without an expiry holds for the process; one with it is renewed early.
    const expires = status.expirationTimestamp
      ? new Date(status.expirationTimestamp).getTime() - 30_000
      : Number.POSITIVE_INFINITY;
    cached = { credentials, expires };
    return credentials;
  };
}

/** Credentials for an `auth-provider` user, through client-node, which implements them. */
function authProviderCredentials(
  file: KubeconfigFile,
  contextName: string,
): () => Promise<Credentials> {
  return async () => {
    const { KubeConfig } = await import("@kubernetes/client-node");
    const config = new KubeConfig();
    config.loadFromFile(file.path);
    config.setCurrentContext(contextName);
    const options: {
      headers?: Record<string, string>;
      cert?: string | Uint8Array;
      key?: string | Uint8Array;
    } = {};
    await config.applyToHTTPSOptions(options);
    const text = (pem?: string | Uint8Array) =>
      pem === undefined || typeof pem === "string" ? pem : new TextDecoder().decode(pem);
    return { headers: { ...options.headers }, cert: text(options.cert), key: text(options.key) };
  };
}

/** How to reach the cluster of the kubeconfig files' current context. */
function fromKubeconfigFiles(paths: string[], source: ConfigSource): ClusterAccess {
  const files = paths.map(parseKubeconfig);
  // As kubectl merges: the first file to name an entry wins, and the first current-context.
  const find = <T>(kind: "clusters" | "users" | "contexts", name: string) => {
    for (const file of files) {
      const entry = (file[kind] as Named<T>[]).find((candidate) => candidate.name === name);
      if (entry) return { entry, file };
    }
    return undefined;
  };
  const contextName = files.find((file) => file.currentContext)?.currentContext;
  const where = paths.join(":");
  if (!contextName) throw new UserError(`the kubeconfig ${where} has no current-context`);
  const context = find<{ context?: Record<string, unknown> }>("contexts", contextName);
  if (!context) throw new UserError(`the kubeconfig ${where} has no context named ${contextName}`);
  const { cluster: clusterName, user: userName, namespace } =
    (context.entry.context ?? {}) as Record<string, string>;
  const cluster = find<{ cluster?: Record<string, unknown> }>("clusters", clusterName);
  if (!cluster) throw new UserError(`the kubeconfig ${where} has no cluster named ${clusterName}`);
  const clusterEntry = cluster.entry.cluster ?? {};
  if (typeof clusterEntry.server !== "string" || clusterEntry.server === "") {
    throw new UserError(`the kubeconfig's cluster ${clusterName} has no server`);
  }
  const access = {
    server: clusterEntry.server.replace(/\/+$/, ""),
    ca: pem(clusterEntry, "certificate-authority", cluster.file),
    verify: clusterEntry["insecure-skip-tls-verify"] !== true,
  };
  const user = userName ? find<{ user?: Record<string, unknown> }>("users", userName) : undefined;
  if (userName && !user) {
    throw new UserError(`the kubeconfig ${where} has no user named ${userName}`);
  }
  const userEntry = user?.entry.user ?? {};
  let credentials: () => Promise<Credentials>;
  if (userEntry.exec) {
    credentials = execCredentials(userEntry.exec as ExecConfig, access, user!.file);
  } else if (userEntry["auth-provider"]) {
    credentials = authProviderCredentials(user!.file, contextName);
  } else {
    const cert = pem(userEntry, "client-certificate", user?.file ?? cluster.file);
    const key = pem(userEntry, "client-key", user?.file ?? cluster.file);
    const tokenFile = typeof userEntry.tokenFile === "string"
      ? relativeTo(user!.file, userEntry.tokenFile)
      : undefined;
    const basic = typeof userEntry.username === "string"
      ? toBase64(`${userEntry.username}:${userEntry.password ?? ""}`)
      : undefined;
    credentials = () => {
      const token = tokenFile
        ? readText(tokenFile, "the token file").trim()
        : userEntry.token as string | undefined;
      const headers: Record<string, string> = token
        ? { Authorization: `Bearer ${token}` }
        : basic
        ? { Authorization: `Basic ${basic}` }
        : {};
      return Promise.resolve({ headers, cert, key });
    };
  }
  return {
    source,
    ...access,
    serverName: typeof clusterEntry["tls-server-name"] === "string"
      ? clusterEntry["tls-server-name"]
      : undefined,
    namespace: namespace || undefined,
    credentials,
  };
}

/** How to reach the cluster from inside a pod: its service account's token and CA. */
function inCluster(env: Record<string, string | undefined>, dir: string): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  let namespace: string | undefined;
  try {
    namespace = Deno.readTextFileSync(`${dir}/namespace`).trim() || undefined;
  } catch {
    namespace = undefined;
  }
  return {
    source: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: Deno.readTextFileSync(`${dir}/ca.crt`),
    verify: true,
    namespace,
    // The kubelet rotates a projected token: read it for each request.
    credentials: () =>
      Promise.resolve({
        headers: { Authorization: `Bearer ${readText(`${dir}/token`, "the token").trim()}` },
      }),
  };
}

/**
 * How to reach the cluster: `KUBECONFIG` (a `:`-separated list), else the pod's service
 * account when running in one, else `~/.kube/config`.
 */
export async function loadClusterAccess(
  env: Record<string, string | undefined>,
  options: { serviceAccountDir?: string } = {},
): Promise<ClusterAccess> {
  const serviceAccountDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const fromKubeconfig = async (paths: string[], source: ConfigSource) => {
    parseYaml ??= await loadYamlReader();
    return fromKubeconfigFiles(paths, source);
  };
  try {
    if (env.KUBECONFIG) {
      return await fromKubeconfig(env.KUBECONFIG.split(":").filter(Boolean), "KUBECONFIG");
    }
    if (env.KUBERNETES_SERVICE_HOST) {
      try {
        Deno.readFileSync(`${serviceAccountDir}/token`);
        return inCluster(env, serviceAccountDir);
      } catch {
        // Not a pod with a service account token: try the home directory.
      }
    }
    const home = `${env.HOME ?? homeDirectory()}/.kube/config`;
    try {
      Deno.readFileSync(home);
    } catch {
      throw new UserError(
        "no Kubernetes cluster configured: set KUBECONFIG, run the agent in a pod with a service account, or create ~/.kube/config",
      );
    }
    return await fromKubeconfig([home], "~/.kube/config");
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot load the Kubernetes configuration: ${(error as Error).message}`);
  }
}

/** The user's home directory when HOME is unset: the passwd entry's, as Node's `homedir`. */
function homeDirectory(): string {
  const uid = String(Deno.uid());
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const fields = line.split(":");
      if (fields[2] === uid && fields[5]) return fields[5];
    }
  } catch {
    // No passwd file to read.
  }
  return "/";
}

/** The namespace of a step: the `namespace` option, else the configuration's, else `default`. */
export function resolveNamespace(option: string | undefined, access: ClusterAccess): string {
  return option || access.namespace || "default";
}
