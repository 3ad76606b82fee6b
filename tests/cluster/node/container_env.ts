/**
 * A container's environment, resolved the way the kubelet does: `envFrom` first, then `env`
 * in order (values expanded against the variables declared before them and the service
 * variables), then the service variables that are not overridden. A missing Secret,
 * ConfigMap or key fails with the kubelet's message (`CreateContainerConfigError`).
 *
 * @module
 */

import type { ConfigMap, Container, Pod, Secret } from "../kube_types.ts";
import { fieldPathValue, type PodAddresses, resourceFieldValue } from "./downward_api.ts";
import { expandVariables } from "./env_expansion.ts";

/** Reads Secrets and ConfigMaps of the pod's namespace; undefined means not found. */
export interface ConfigSource {
  secret(name: string): Promise<Secret | undefined>;
  configMap(name: string): Promise<ConfigMap | undefined>;
}

/** A configuration error the kubelet reports as `CreateContainerConfigError`. */
export class ContainerConfigError extends Error {
  /** Wraps the kubelet's message. */
  constructor(message: string) {
    super(message);
    this.name = "ContainerConfigError";
  }
}

/** What else the environment depends on. */
export interface EnvContext {
  addresses: PodAddresses;
  /** Variables the kubelet adds for services (`KUBERNETES_SERVICE_HOST` …). */
  serviceEnv: ReadonlyMap<string, string>;
  /** The node's allocatable resources (defaults for `resourceFieldRef`). */
  allocatable: Record<string, string>;
}

/** Resolves the environment a container starts with (without the image's env). */
export async function resolveContainerEnv(
  pod: Pod,
  container: Container,
  source: ConfigSource,
  context: EnvContext,
): Promise<Map<string, string>> {
  const namespace = pod.metadata.namespace ?? "";
  const secrets = new Map<string, Secret | undefined>();
  const configMaps = new Map<string, ConfigMap | undefined>();
  const secret = async (name: string) => {
    if (!secrets.has(name)) secrets.set(name, await source.secret(name));
    return secrets.get(name);
  };
  const configMap = async (name: string) => {
    if (!configMaps.has(name)) configMaps.set(name, await source.configMap(name));
    return configMaps.get(name);
  };
  const env = new Map<string, string>();

  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const found = await configMap(from.configMapRef.name);
      if (!found) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(found.data ?? {})) {
        env.set(`${from.prefix ?? ""}${key}`, value);
      }
    } else if (from.secretRef) {
      const found = await secret(from.secretRef.name);
      if (!found) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(found.data ?? {})) {
        env.set(`${from.prefix ?? ""}${key}`, decodeBase64Text(value));
      }
    }
  }

  for (const variable of container.env ?? []) {
    let value = variable.value ?? "";
    const from = variable.valueFrom;
    if (value !== "") {
      value = expandVariables(value, env, context.serviceEnv);
    } else if (from?.fieldRef) {
      value = fieldPathValue(pod, from.fieldRef.fieldPath, context.addresses);
    } else if (from?.resourceFieldRef) {
      const ref = from.resourceFieldRef;
      const target = ref.containerName
        ? [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((candidate) =>
          candidate.name === ref.containerName
        ) ?? container
        : container;
      value = resourceFieldValue(target, ref.resource, ref.divisor, context.allocatable);
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const found = await configMap(ref.name);
      if (!found) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`configmap "${ref.name}" not found`);
      }
      const data = found.data?.[ref.key];
      if (data === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(
          `couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`,
        );
      }
      value = data;
    } else if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      const found = await secret(ref.name);
      if (!found) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`secret "${ref.name}" not found`);
      }
      const data = found.data?.[ref.key];
      if (data === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(
          `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`,
        );
      }
      value = decodeBase64Text(data);
    }
    env.set(variable.name, value);
  }

  for (const [name, value] of context.serviceEnv) if (!env.has(name)) env.set(name, value);
  return env;
}

/** Decodes base64 Secret data as UTF-8 text. */
export function decodeBase64Text(data: string): string {
  return new TextDecoder().decode(decodeBase64(data));
}

/** Decodes base64 Secret data as bytes. */
export function decodeBase64(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}
