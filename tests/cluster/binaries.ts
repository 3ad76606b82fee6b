/**
 * Where the pinned binaries live: the repository's build script is the one source of truth,
 * so this module only asks it (`scripts/build-binaries --paths`) and never guesses cache paths.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The binaries the local control plane, the demo and the benchmarks run. */
export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubelet: string;
  kubectl: string;
  /** A directory: containerd, containerd-shim-runc-v2, ctr. */
  containerd: string;
  runc: string;
  /** A directory: the CNI plugins bridge, host-local, loopback. */
  cniPlugins: string;
  registry: string;
  pause: string;
  buildkiteAgent: string;
  helm: string;
}

const NAMES: Record<string, keyof Binaries> = {
  "etcd": "etcd",
  "kube-apiserver": "kubeApiserver",
  "kube-controller-manager": "kubeControllerManager",
  "kube-scheduler": "kubeScheduler",
  "kubelet": "kubelet",
  "kubectl": "kubectl",
  "containerd": "containerd",
  "runc": "runc",
  "cni-plugins": "cniPlugins",
  "registry": "registry",
  "pause": "pause",
  "buildkite-agent": "buildkiteAgent",
  "helm": "helm",
};

// The binaries that are a directory of programs, with one program each must hold.
const DIRECTORIES: Partial<Record<keyof Binaries, string>> = {
  containerd: "containerd",
  cniPlugins: "bridge",
};

/** The repository root, found from this file's location. */
export const REPOSITORY_ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(
  /\/$/,
  "",
);

/**
 * Parses the `NAME=PATH` lines of `scripts/build-binaries --paths`.
 * Unknown names are ignored so a newer script with more binaries still works.
 */
export function parseBinaryPaths(output: string): Partial<Binaries> {
  const found: Partial<Binaries> = {};
  for (const line of output.split("\n")) {
    const at = line.indexOf("=");
    if (at <= 0) continue;
    const key = NAMES[line.slice(0, at).trim()];
    if (key) found[key] = line.slice(at + 1).trim();
  }
  return found;
}

/**
 * Runs `scripts/build-binaries --paths` and returns every path, or throws naming the
 * missing binaries and how to build them.
 */
export async function locateBinaries(): Promise<Binaries> {
  const script = `${REPOSITORY_ROOT}/scripts/build-binaries`;
  const output = await new Deno.Command(script, {
    args: ["--paths"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const found = parseBinaryPaths(new TextDecoder().decode(output.stdout));
  const missing: string[] = [];
  for (const [name, key] of Object.entries(NAMES)) {
    const path = found[key];
    if (!path || !(await isExecutable(DIRECTORIES[key] ? `${path}/${DIRECTORIES[key]}` : path))) {
      missing.push(name);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `binaries missing: ${missing.join(", ")}; build them with ${script} ` +
        `(or point KBK_BIN_DIR at a directory holding them)`,
    );
  }
  return found as Binaries;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}
