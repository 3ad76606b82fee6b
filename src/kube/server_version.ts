/**
 * The API server's Kubernetes version (`GET /version`), asked only by the options that need
 * a minimum: `sidecars` need native sidecar containers, on by default since 1.29.
 *
 * @module
 */
import { EXIT, UserError } from "../exit_status.ts";
import type { Api } from "./client.ts";
import { withRetries } from "./submit.ts";

/** What `GET /version` answers, in part. */
export interface ServerVersion {
  /** The major version, such as `1`. */
  major: string;
  /** The minor version, such as `29` (some providers add a `+`: `29+`). */
  minor: string;
  /** The full version, such as `v1.29.4-gke.1043002`. */
  gitVersion: string;
}

/** The first Kubernetes version with native sidecars on by default (SidecarContainers beta). */
export const SIDECARS_MINIMUM = { major: 1, minor: 29 } as const;

/** Whether `version` is at least `minimum`; a version that cannot be read is taken as new. */
export function atLeast(version: ServerVersion, minimum: { major: number; minor: number }) {
  const major = parseInt(version.major, 10);
  const minor = parseInt(version.minor, 10);
  if (Number.isNaN(major) || Number.isNaN(minor)) return true;
  return major > minimum.major || (major === minimum.major && minor >= minimum.minor);
}

/** Why `sidecars` cannot run on an API server of `version`, if they cannot. */
export function sidecarsRefusal(version: ServerVersion): string | undefined {
  if (atLeast(version, SIDECARS_MINIMUM)) return undefined;
  const { major, minor } = SIDECARS_MINIMUM;
  return `option \`sidecars\` needs Kubernetes ${major}.${minor} or later (native sidecar ` +
    `containers: init containers with restartPolicy: Always), but the API server is ` +
    `${version.gitVersion || `${version.major}.${version.minor}`}; remove the option or ` +
    "upgrade the cluster";
}

/** Reads the API server's version, retrying while it does not answer. */
export async function serverVersion(api: Api): Promise<ServerVersion> {
  try {
    return await withRetries(
      () => api.request<ServerVersion>("GET", "/version", { timeoutMs: 30_000 }),
      { what: "reading the API server's version", budgetMs: 60_000 },
    );
  } catch (error) {
    throw new UserError(
      `reading the API server's version (for option \`sidecars\`) failed: ${
        (error as Error).message
      }`,
      EXIT.submit.code,
    );
  }
}

/** Refuses `sidecars` (78) on an API server older than native sidecars. */
export async function requireSidecarSupport(api: Api): Promise<void> {
  const refusal = sidecarsRefusal(await serverVersion(api));
  if (refusal) throw new UserError(refusal, EXIT.config.code);
}
