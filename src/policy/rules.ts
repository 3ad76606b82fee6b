/**
 * The operator's policy over one Job: each rule a small function from the Job to what it
 * breaks, with the field, the value and the rule. Pure: plain objects in, plain objects out.
 *
 * @module
 */
import type { V1Container, V1Job, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import { pathWithin } from "../config/mod.ts";
import type { Policy } from "../config/policy.ts";

/** What a Job asks for that the policy refuses. */
export interface Violation {
  /** Which rule: names the options that can cause it (see `../policy/mod.ts`). */
  kind:
    | "namespace"
    | "serviceAccount"
    | "secret"
    | "hostPath"
    | "registry"
    | "privileged"
    | "hostNamespace"
    | "capability";
  /** The field, with containers and volumes by name: `spec.template.spec.containers[step].image`. */
  field: string;
  /** The value there. */
  value: string;
  /** The rule it breaks, as an operator reads it. */
  rule: string;
}

/** What the rules look at besides the Job. */
export interface Subject {
  /** The Job. */
  job: V1Job;
  /** The namespace it is created in, when known. */
  namespace?: string;
}

type Rule = (subject: Subject, policy: Policy) => Violation[];

const POD = "spec.template.spec";

/** `*` for any characters, everything else as written. */
export function matchesPattern(value: string, pattern: string): boolean {
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`).test(value);
}

function listed(patterns: string[]): string {
  return patterns.length ? patterns.join(", ") : "none";
}

/** The registry of an image reference, as the container runtime resolves it. */
export function imageRegistry(image: string): string {
  const first = image.split("/")[0];
  const hasRegistry = image.includes("/") &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  return hasRegistry ? first : "docker.io";
}

function podSpec(job: V1Job): V1PodSpec {
  return job.spec?.template?.spec ?? { containers: [] };
}

/** Every container with the path of its list, init containers first. */
function containers(spec: V1PodSpec): { path: string; container: V1Container }[] {
  return [
    ...(spec.initContainers ?? []).map((container) => ({
      path: `${POD}.initContainers[${container.name}]`,
      container,
    })),
    ...spec.containers.map((container) => ({
      path: `${POD}.containers[${container.name}]`,
      container,
    })),
  ];
}

/** Whether the Job is in the agent's namespace, or either is unknown (then assume it is). */
function inAgentNamespace(subject: Subject, policy: Policy): boolean {
  const namespace = subject.job.metadata?.namespace ?? subject.namespace;
  return !namespace || !policy.agent.namespace || namespace === policy.agent.namespace;
}

const namespaceRule: Rule = ({ job, namespace: given }, { rules }) => {
  const namespace = job.metadata?.namespace ?? given;
  const allowed = rules.allowedNamespaces;
  if (!allowed || namespace === undefined) return [];
  if (allowed.some((pattern) => matchesPattern(namespace, pattern))) return [];
  return [{
    kind: "namespace",
    field: "metadata.namespace",
    value: namespace,
    rule: `allowedNamespaces: ${listed(allowed)}`,
  }];
};

const serviceAccountRule: Rule = (subject, policy) => {
  const spec = podSpec(subject.job);
  const fields: [string, string | undefined][] = [
    [
      `${POD}.serviceAccountName`,
      spec.serviceAccountName ?? (spec.serviceAccount ? undefined : "default"),
    ],
    [`${POD}.serviceAccount`, spec.serviceAccount],
  ];
  const allowed = policy.rules.allowedServiceAccounts;
  return fields.flatMap(([field, value]): Violation[] => {
    if (value === undefined) return [];
    if (value === policy.agent.serviceAccount && inAgentNamespace(subject, policy)) {
      return [{ kind: "serviceAccount", field, value, rule: "the agent's own ServiceAccount" }];
    }
    if (allowed && !allowed.some((pattern) => matchesPattern(value, pattern))) {
      return [{
        kind: "serviceAccount",
        field,
        value,
        rule: `allowedServiceAccounts: ${listed(allowed)}`,
      }];
    }
    return [];
  });
};

/** The Secrets a volume names: `secret`, `projected` sources and the volume plugins' refs. */
function volumeSecrets(volume: V1Volume): { field: string; name: string }[] {
  const at = `${POD}.volumes[${volume.name}]`;
  const found: { field: string; name: string }[] = [];
  if (volume.secret?.secretName) {
    found.push({ field: `${at}.secret.secretName`, name: volume.secret.secretName });
  }
  (volume.projected?.sources ?? []).forEach((source, index) => {
    if (source.secret?.name) {
      found.push({
        field: `${at}.projected.sources[${index}].secret.name`,
        name: source.secret.name,
      });
    }
  });
  if (volume.azureFile?.secretName) {
    found.push({ field: `${at}.azureFile.secretName`, name: volume.azureFile.secretName });
  }
  if (volume.csi?.nodePublishSecretRef?.name) {
    found.push({
      field: `${at}.csi.nodePublishSecretRef.name`,
      name: volume.csi.nodePublishSecretRef.name,
    });
  }
  const plugins = {
    cephfs: volume.cephfs?.secretRef,
    cinder: volume.cinder?.secretRef,
    flexVolume: volume.flexVolume?.secretRef,
    iscsi: volume.iscsi?.secretRef,
    rbd: volume.rbd?.secretRef,
    scaleIO: volume.scaleIO?.secretRef,
    storageos: volume.storageos?.secretRef,
  };
  for (const [kind, ref] of Object.entries(plugins)) {
    if (ref?.name) found.push({ field: `${at}.${kind}.secretRef.name`, name: ref.name });
  }
  return found;
}

/** Every Secret the pod can read, whichever way it names it. */
export function secretReferences(job: V1Job): { field: string; name: string }[] {
  const spec = podSpec(job);
  const found: { field: string; name: string }[] = [];
  for (const { path, container } of containers(spec)) {
    (container.envFrom ?? []).forEach((source, index) => {
      if (source.secretRef?.name) {
        found.push({
          field: `${path}.envFrom[${index}].secretRef.name`,
          name: source.secretRef.name,
        });
      }
    });
    for (const variable of container.env ?? []) {
      const name = variable.valueFrom?.secretKeyRef?.name;
      if (name) {
        found.push({ field: `${path}.env[${variable.name}].valueFrom.secretKeyRef.name`, name });
      }
    }
  }
  for (const volume of spec.volumes ?? []) found.push(...volumeSecrets(volume));
  (spec.imagePullSecrets ?? []).forEach((secret, index) => {
    if (secret.name) {
      found.push({ field: `${POD}.imagePullSecrets[${index}].name`, name: secret.name });
    }
  });
  return found;
}

const secretRule: Rule = (subject, policy) => {
  const ownSecret = subject.job.metadata?.name;
  const allowed = policy.rules.allowedSecrets;
  return secretReferences(subject.job).flatMap(({ field, name }): Violation[] => {
    // The per-step Secret, named like its Job, holds only this step's own values.
    if (name === ownSecret) return [];
    if (policy.agent.secrets.includes(name) && inAgentNamespace(subject, policy)) {
      return [{ kind: "secret", field, value: name, rule: "the agent's own Secret" }];
    }
    if (allowed && !allowed.some((pattern) => matchesPattern(name, pattern))) {
      return [{ kind: "secret", field, value: name, rule: `allowedSecrets: ${listed(allowed)}` }];
    }
    return [];
  });
};

const hostPathRule: Rule = ({ job }, { rules }) => {
  const allowed = rules.allowedHostPaths;
  if (!allowed) return [];
  return (podSpec(job).volumes ?? []).flatMap((volume): Violation[] => {
    const path = volume.hostPath?.path;
    if (path === undefined || allowed.some((prefix) => pathWithin(path, prefix))) return [];
    return [{
      kind: "hostPath",
      field: `${POD}.volumes[${volume.name}].hostPath.path`,
      value: path,
      rule: `allowedHostPaths: ${listed(allowed)}`,
    }];
  });
};

const registryRule: Rule = ({ job }, { rules }) => {
  const allowed = rules.allowedRegistries;
  if (!allowed) return [];
  return containers(podSpec(job)).flatMap(({ path, container }): Violation[] => {
    const image = container.image ?? "";
    const registry = imageRegistry(image);
    if (allowed.some((pattern) => matchesPattern(registry, pattern))) return [];
    return [{
      kind: "registry",
      field: `${path}.image`,
      value: image,
      rule: `allowedRegistries: ${listed(allowed)} (its registry is ${registry})`,
    }];
  });
};

const privilegedRule: Rule = ({ job }, { rules }) => {
  if (rules.allowPrivileged) return [];
  return containers(podSpec(job)).flatMap(({ path, container }): Violation[] =>
    container.securityContext?.privileged === true
      ? [{
        kind: "privileged",
        field: `${path}.securityContext.privileged`,
        value: "true",
        rule: "allowPrivileged: false",
      }]
      : []
  );
};

const hostNamespaceRule: Rule = ({ job }, { rules }) => {
  if (rules.allowHostNamespaces) return [];
  const spec = podSpec(job);
  return (["hostNetwork", "hostPID", "hostIPC"] as const).flatMap((field): Violation[] =>
    spec[field] === true
      ? [{
        kind: "hostNamespace",
        field: `${POD}.${field}`,
        value: "true",
        rule: "allowHostNamespaces: false",
      }]
      : []
  );
};

const capabilityRule: Rule = ({ job }, { rules }) => {
  const allowed = rules.allowedCapabilities;
  if (!allowed) return [];
  return containers(podSpec(job)).flatMap(({ path, container }) =>
    (container.securityContext?.capabilities?.add ?? []).flatMap((capability): Violation[] =>
      allowed.includes(capability.replace(/^CAP_/, "")) ? [] : [{
        kind: "capability",
        field: `${path}.securityContext.capabilities.add`,
        value: capability,
        rule: `allowedCapabilities: ${listed(allowed)}`,
      }]
    )
  );
};

const RULES: Rule[] = [
  namespaceRule,
  serviceAccountRule,
  secretRule,
  hostPathRule,
  registryRule,
  privilegedRule,
  hostNamespaceRule,
  capabilityRule,
];

/** Everything the Job asks for that the policy or the agent's identity refuses. */
export function violations(subject: Subject, policy: Policy): Violation[] {
  return RULES.flatMap((rule) => rule(subject, policy));
}
