/**
 * A pod's volumes on the node, and each container's mounts of them. emptyDir is a directory
 * per pod, a PersistentVolumeClaim a directory per claim name (claims are not bound to
 * volumes), hostPath the host's path; Secret, ConfigMap, downward API and projected volumes
 * are directories of files written from the API objects with the items and modes asked for.
 * Errors carry the kubelet's wording; the caller reports them as `FailedMount`.
 *
 * @module
 */

import type {
  Container,
  DownwardApiFile,
  KeyToPath,
  Pod,
  Volume,
  VolumeProjection,
} from "../kube_types.ts";
import { type ConfigSource, decodeBase64 } from "./container_env.ts";
import { fieldPathValue, type PodAddresses, resourceFieldValue } from "./downward_api.ts";
import { expandVariables } from "./env_expansion.ts";

/** Where volume data comes from besides Secrets and ConfigMaps. */
export interface VolumeSources extends ConfigSource {
  /** A token for the pod's service account (TokenRequest bound to the pod). */
  serviceAccountToken(audience: string | undefined, expirationSeconds: number): Promise<string>;
}

/** Where a pod's volumes live. */
export interface VolumeLayout {
  /** The pod's directory; volumes go under `volumes/`. */
  podDir: string;
  /** Parent of the per-claim directories (`<namespace>/<claim>`). */
  claimsDir: string;
  addresses: PodAddresses;
  allocatable: Record<string, string>;
}

/** A volume could not be set up; `message` is what the kubelet reports in FailedMount. */
export class VolumeError extends Error {
  /** The volume that failed. */
  readonly volume: string;

  /** Wraps the reason for one volume. */
  constructor(volume: string, reason: string) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${reason}`);
    this.name = "VolumeError";
    this.volume = volume;
  }
}

/** A bind mount into a container's root. */
export interface BindMount {
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly: boolean;
}

const DEFAULT_FILE_MODE = 0o644;

/** Sets up every volume of the pod; returns each volume's host directory (or file). */
export async function setUpVolumes(
  pod: Pod,
  layout: VolumeLayout,
  sources: VolumeSources,
): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const volume of pod.spec.volumes ?? []) {
    try {
      paths.set(volume.name, await setUpVolume(pod, volume, layout, sources));
    } catch (error) {
      if (error instanceof VolumeError) throw error;
      throw new VolumeError(volume.name, (error as Error).message);
    }
  }
  return paths;
}

async function setUpVolume(
  pod: Pod,
  volume: Volume,
  layout: VolumeLayout,
  sources: VolumeSources,
): Promise<string> {
  const dir = (plugin: string) => `${layout.podDir}/volumes/kubernetes.io~${plugin}/${volume.name}`;
  if (volume.emptyDir) {
    const path = dir("empty-dir");
    await Deno.mkdir(path, { recursive: true });
    await Deno.chmod(path, 0o777);
    return path;
  }
  if (volume.hostPath) return await setUpHostPath(volume.hostPath.path, volume.hostPath.type ?? "");
  if (volume.persistentVolumeClaim) {
    const path =
      `${layout.claimsDir}/${pod.metadata.namespace}/${volume.persistentVolumeClaim.claimName}`;
    await Deno.mkdir(path, { recursive: true });
    return path;
  }
  if (volume.secret) {
    const files = await secretFiles(volume.secret.secretName, volume.secret, sources);
    return await writeFiles(dir("secret"), files, volume.secret.defaultMode);
  }
  if (volume.configMap) {
    const files = await configMapFiles(volume.configMap.name, volume.configMap, sources);
    return await writeFiles(dir("configmap"), files, volume.configMap.defaultMode);
  }
  if (volume.downwardAPI) {
    const files = downwardApiFiles(pod, volume.downwardAPI.items ?? [], layout);
    return await writeFiles(dir("downward-api"), files, volume.downwardAPI.defaultMode);
  }
  if (volume.projected) {
    const files: VolumeFile[] = [];
    for (const source of volume.projected.sources ?? []) {
      files.push(...await projectedFiles(pod, source, layout, sources));
    }
    return await writeFiles(dir("projected"), files, volume.projected.defaultMode);
  }
  throw new Error(
    "the node agent supports emptyDir, hostPath, persistentVolumeClaim, " +
      "secret, configMap, downwardAPI and projected volumes",
  );
}

async function setUpHostPath(path: string, type: string): Promise<string> {
  const info = await Deno.stat(path).catch(() => undefined);
  const fail = (what: string) => {
    throw new Error(`hostPath type check failed: ${path} is not a ${what}`);
  };
  switch (type) {
    case "DirectoryOrCreate":
      if (!info) await Deno.mkdir(path, { recursive: true, mode: 0o755 });
      else if (!info.isDirectory) fail("directory");
      break;
    case "FileOrCreate":
      if (!info) await Deno.writeFile(path, new Uint8Array(), { mode: 0o644 });
      else if (!info.isFile) fail("file");
      break;
    case "Directory":
      if (!info?.isDirectory) fail("directory");
      break;
    case "File":
      if (!info?.isFile) fail("file");
      break;
    case "Socket":
      if (!info?.isSocket) fail("socket file");
      break;
    case "CharDevice":
      if (!info?.isCharDevice) fail("character device");
      break;
    case "BlockDevice":
      if (!info?.isBlockDevice) fail("block device");
      break;
  }
  return path;
}

interface VolumeFile {
  path: string;
  data: Uint8Array;
  mode?: number;
}

const encoder = new TextEncoder();

async function secretFiles(
  name: string,
  source: { items?: KeyToPath[]; optional?: boolean },
  sources: ConfigSource,
): Promise<VolumeFile[]> {
  const secret = await sources.secret(name);
  if (!secret) {
    if (source.optional) return [];
    throw new Error(`secret "${name}" not found`);
  }
  const data = secret.data ?? {};
  return selectItems(
    data,
    source.items,
    source.optional,
    (key) => `references non-existent secret key: ${key}`,
  ).map(({ key, path, mode }) => ({
    path,
    mode,
    data: decodeBase64(data[key]),
  }));
}

async function configMapFiles(
  name: string,
  source: { items?: KeyToPath[]; optional?: boolean },
  sources: ConfigSource,
): Promise<VolumeFile[]> {
  const configMap = await sources.configMap(name);
  if (!configMap) {
    if (source.optional) return [];
    throw new Error(`configmap "${name}" not found`);
  }
  const text = configMap.data ?? {};
  const binary = configMap.binaryData ?? {};
  const keys = Object.fromEntries(
    [...Object.keys(text), ...Object.keys(binary)].map((key) => [key, key]),
  );
  return selectItems(
    keys,
    source.items,
    source.optional,
    (key) => `configmap references non-existent config key: ${key}`,
  ).map(({ key, path, mode }) => ({
    path,
    mode,
    data: key in text ? encoder.encode(text[key]) : decodeBase64(binary[key]),
  }));
}

function selectItems(
  data: Record<string, string>,
  items: KeyToPath[] | undefined,
  optional: boolean | undefined,
  missing: (key: string) => string,
): KeyToPath[] {
  if (!items?.length) return Object.keys(data).map((key) => ({ key, path: key }));
  const selected: KeyToPath[] = [];
  for (const item of items) {
    if (item.key in data) selected.push(item);
    else if (!optional) throw new Error(missing(item.key));
  }
  return selected;
}

function downwardApiFiles(
  pod: Pod,
  items: DownwardApiFile[],
  layout: VolumeLayout,
): VolumeFile[] {
  return items.map((item) => {
    let value = "";
    if (item.fieldRef) value = fieldPathValue(pod, item.fieldRef.fieldPath, layout.addresses);
    if (item.resourceFieldRef) {
      const ref = item.resourceFieldRef;
      const container = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]
        .find((candidate) => candidate.name === ref.containerName) ?? pod.spec.containers[0];
      value = resourceFieldValue(container, ref.resource, ref.divisor, layout.allocatable);
    }
    return { path: item.path, mode: item.mode, data: encoder.encode(value) };
  });
}

async function projectedFiles(
  pod: Pod,
  source: VolumeProjection,
  layout: VolumeLayout,
  sources: VolumeSources,
): Promise<VolumeFile[]> {
  if (source.secret) return await secretFiles(source.secret.name, source.secret, sources);
  if (source.configMap) {
    return await configMapFiles(source.configMap.name, source.configMap, sources);
  }
  if (source.downwardAPI) return downwardApiFiles(pod, source.downwardAPI.items ?? [], layout);
  if (source.serviceAccountToken) {
    const { audience, expirationSeconds, path } = source.serviceAccountToken;
    const token = await sources.serviceAccountToken(audience, expirationSeconds ?? 3607);
    return [{ path, data: encoder.encode(token) }];
  }
  return [];
}

async function writeFiles(
  dir: string,
  files: VolumeFile[],
  defaultMode: number | undefined,
): Promise<string> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  for (const file of files) {
    const path = `${dir}/${file.path}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(path, file.data);
    // Written modes are not subject to the node agent's umask.
    await Deno.chmod(path, file.mode ?? defaultMode ?? DEFAULT_FILE_MODE);
  }
  return dir;
}

/**
 * A container's mounts: each volumeMount's source (its volume, or `subPath`/`subPathExpr`
 * inside it, created when missing) at its mountPath, parents before children.
 */
export async function containerMounts(
  container: Container,
  volumes: ReadonlyMap<string, string>,
  env: ReadonlyMap<string, string>,
): Promise<BindMount[]> {
  const mounts: BindMount[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (volume === undefined) {
      throw new Error(
        `cannot find volume "${mount.name}" to mount into container "${container.name}"`,
      );
    }
    const subPath = mount.subPathExpr
      ? expandVariables(mount.subPathExpr, env)
      : mount.subPath ?? "";
    if (subPath.startsWith("/") || subPath.split("/").includes("..")) {
      throw new Error(`subPath "${subPath}" must be a relative path without '..'`);
    }
    let source = volume;
    if (subPath) {
      source = `${volume}/${subPath}`;
      if (!(await Deno.stat(source).catch(() => undefined))) {
        await Deno.mkdir(source, { recursive: true, mode: 0o750 });
      }
    }
    mounts.push({ source, target: mount.mountPath, readOnly: mount.readOnly ?? false });
  }
  const depth = (path: string) => path.split("/").filter(Boolean).length;
  return mounts.sort((a, b) => depth(a.target) - depth(b.target));
}
