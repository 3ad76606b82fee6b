/**
 * Configuration → the Kubernetes Job of a step: a `bootstrap` init container that checks
 * the repository out with `buildkite-agent bootstrap --phases checkout`, and a `step`
 * container that runs the command with `buildkite-agent` mounted. Pure: no network.
 *
 * @module
 */
import type {
  V1Affinity,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1Job,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { checkoutMountedAtWorkdir, type Configuration, mountPathKey } from "../config/mod.ts";
import type { Sidecar } from "../config/schema.ts";
import { UserError } from "../exit_status.ts";
import { normalizePath, relativePath } from "../text.ts";
import { FLAT_PREFIX } from "../config/sources.ts";
import { stepMetadata } from "./metadata.ts";
import { jobName } from "./names.ts";
import { podSecurityContext } from "./run_as.ts";
import { escapeDollars, splitEnvironment } from "./secret.ts";

/** Where the git mirrors are inside the pod when `git-mirrors-host-path` is set. */
export const GIT_MIRRORS_PATH = "/buildkite/git-mirrors";
/** Where the checkout container's entrypoint copies `buildkite-agent` to. */
export const AGENT_COPY_PATH = "/local";
/** Where the step container finds `buildkite-agent`. */
export const AGENT_BINARY_PATH = "/usr/local/bin/buildkite-agent";
/** The name of the checkout (init) container. */
export const CHECKOUT_CONTAINER = "bootstrap";
/** The name of the step's container. */
export const STEP_CONTAINER = "step";

/** Where the agent's own pod runs, copied by `use-agent-node-affinity`. */
export interface Placement {
  /** The agent pod's affinity. */
  affinity?: V1Affinity;
  /** The agent pod's tolerations. */
  tolerations?: V1Toleration[];
  /** The agent pod's node selector. */
  nodeSelector?: Record<string, string>;
}

/** The objects a step creates, in creation order. */
export interface Manifest {
  /** The Job. */
  job: V1Job;
  /** The per-step Secret's data (key → value), empty when the step has no secrets. */
  secretData: Map<string, string>;
}

/**
 * Runs the step's command, then uploads its artifacts whatever the command's exit status,
 * and exits with the command's status. `$@` is the command.
 */
const ARTIFACT_WRAPPER = [
  '"$@"',
  "status=$?",
  'echo "~~~ :kubernetes: Uploading artifacts: $BUILDKITE_ARTIFACT_PATHS"',
  'buildkite-agent artifact upload "$BUILDKITE_ARTIFACT_PATHS" ||',
  '  echo "kubernetes plugin: artifact upload failed (exit $?)" >&2',
  'exit "$status"',
].join("\n");

interface SecretRef {
  name: string;
  key: string;
}

function secretFor(
  options: Configuration["options"],
  kind: "agent-token" | "git-credentials" | "git-ssh",
): SecretRef | undefined {
  const name = options[`${kind}-secret-name`] ?? options["default-secret-name"];
  return name ? { name, key: options[`${kind}-secret-key`] } : undefined;
}

/** The container's command and args: the step's command through a shell, or the plugin's options. */
function commandOf(config: Configuration): { command?: string[]; args?: string[] } {
  const { options, step } = config;
  const entrypoint = options.entrypoint;
  let command: string[] | undefined;
  let args: string[] | undefined;
  if (step.command !== undefined) {
    command = entrypoint ?? ["/bin/sh", "-e", "-c"];
    // Shell text for the shell, as on any agent: the kubelet would otherwise expand its
    // `$(NAME)` and turn its `$$` into `$`.
    args = [escapeDollars(step.command)];
  } else {
    command = entrypoint;
    args = options.command;
  }
  if (step.artifactPaths === undefined) return { command, args };
  if (command === undefined) {
    throw new UserError(
      "the step has artifact_paths, but its command is the image's own entrypoint, which the plugin " +
        "cannot run the upload after; give the step a `command`, or set the plugin's `entrypoint`",
    );
  }
  return {
    command: ["/bin/sh", "-c", ARTIFACT_WRAPPER, "buildkite-step", ...command, ...(args ?? [])],
  };
}

function hostPathVolumes(specs: string[] | undefined) {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  (specs ?? []).forEach((spec, index) => {
    const [hostPath, mountPath, mode] = spec.split(":");
    const name = `hostpath-${index}`;
    volumes.push({ name, hostPath: { path: hostPath, type: "DirectoryOrCreate" } });
    mounts.push({ name, mountPath, ...(mode === "ro" ? { readOnly: true } : {}) });
  });
  return { volumes, mounts };
}

function secretVolumes(specs: string[] | undefined) {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  (specs ?? []).forEach((spec, index) => {
    const [secretName, mountPath, mode] = spec.split(":");
    const name = `secret-${index}`;
    volumes.push({ name, secret: { secretName } });
    mounts.push({ name, mountPath, ...(mode === "ro" ? { readOnly: true } : {}) });
  });
  return { volumes, mounts };
}

/** A credential file from a Secret, readable only by its owner, at `/secrets/<file>`. */
function credentialVolume(volumeName: string, ref: SecretRef, file: string) {
  return {
    volume: {
      name: volumeName,
      secret: { secretName: ref.name, defaultMode: 0o400, items: [{ key: ref.key, path: file }] },
    } satisfies V1Volume,
    mount: {
      name: volumeName,
      mountPath: `/secrets/${file}`,
      subPath: file,
    } satisfies V1VolumeMount,
  };
}

const BUILT_IN_MOUNTS: Record<string, string> = {
  "build": "the build directory (BUILDKITE_BUILD_PATH)",
  "git-mirrors": "the git mirrors (`git-mirrors-host-path`)",
  "buildkite-agent": "buildkite-agent (`mount-buildkite-agent`)",
};

/** What a mount of the plugin's holds, for messages: the build volume's checkout is `workdir`'s. */
function describeMount(mount: V1VolumeMount): string {
  if (mount.name === "build" && mount.subPath !== undefined) return "the checkout (`workdir`)";
  return BUILT_IN_MOUNTS[mount.name] ?? mount.name;
}

/** The Kubernetes API refuses two mounts at one path: say so before, naming the option. */
function refuseMountsOver(builtIn: V1VolumeMount[], options: Record<string, V1VolumeMount[]>) {
  const taken = new Map(builtIn.map((mount) => [mountPathKey(mount.mountPath), mount]));
  for (const [option, mounts] of Object.entries(options)) {
    for (const { mountPath } of mounts) {
      const mount = taken.get(mountPathKey(mountPath));
      if (mount === undefined) continue;
      throw new UserError(
        `option \`${option}\` mounts ${mountPath}, where the plugin mounts ${
          describeMount(mount)
        }; choose another path`,
      );
    }
  }
}

function environmentOption(entries: string[] | undefined): V1EnvVar[] {
  return (entries ?? []).map((entry) => {
    const equals = entry.indexOf("=");
    return { name: entry.slice(0, equals), value: entry.slice(equals + 1) };
  });
}

function envFrom(secrets: string[] | undefined): V1EnvFromSource[] | undefined {
  return secrets?.length ? secrets.map((name) => ({ secretRef: { name } })) : undefined;
}

function resources(options: Configuration["options"]) {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (options["resources-request-cpu"]) requests.cpu = options["resources-request-cpu"];
  if (options["resources-request-memory"]) requests.memory = options["resources-request-memory"];
  if (options["resources-limit-cpu"]) limits.cpu = options["resources-limit-cpu"];
  if (options["resources-limit-memory"]) limits.memory = options["resources-limit-memory"];
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return undefined;
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

/**
 * The `sidecars` as native sidecars: init containers with `restartPolicy: Always`, placed
 * after the checkout, so they start once it is done and run until the step container ends.
 * The kubelet starts the step container once each has started (its startup probe passed).
 */
function sidecarContainers(
  sidecars: Sidecar[] | undefined,
  buildMount: V1VolumeMount,
): V1Container[] {
  return (sidecars ?? []).map(({ "mount-checkout": mountCheckout, ...container }) => ({
    ...container,
    imagePullPolicy: container.imagePullPolicy ?? "IfNotPresent",
    restartPolicy: "Always",
    volumeMounts: mountCheckout || container.volumeMounts
      ? [...(mountCheckout ? [buildMount] : []), ...(container.volumeMounts ?? [])]
      : undefined,
  }));
}

/**
 * Builds a step's Job and the data of its Secret from its configuration; `attempt` counts the
 * Jobs that replaced a lost pod (`lost-pod-retries`) and names the Job.
 */
export async function buildManifest(
  config: Configuration,
  placement: Placement = {},
  { attempt = 0 }: { attempt?: number } = {},
): Promise<Manifest> {
  const { options, step } = config;
  const name = await jobName(step, { attempt });
  const metadata = stepMetadata(config, name);
  const { env, secretData } = splitEnvironment(step.env, name, { secret: step.exported });

  const checkout = options["init-image"] !== "";
  const mountAgent = checkout && options["mount-buildkite-agent"];
  const mirrors = options["git-mirrors-host-path"];

  const volumes: V1Volume[] = [];
  const buildMount: V1VolumeMount = { name: "build", mountPath: step.buildPath };
  if (options["build-path-pvc"]) {
    volumes.push({
      name: "build",
      persistentVolumeClaim: { claimName: options["build-path-pvc"] },
    });
  } else if (options["build-path-host-path"]) {
    volumes.push({
      name: "build",
      hostPath: { path: options["build-path-host-path"], type: "DirectoryOrCreate" },
    });
  } else {
    volumes.push({ name: "build", emptyDir: {} });
  }
  const sharedMounts: V1VolumeMount[] = [buildMount];
  if (mirrors) {
    volumes.push({ name: "git-mirrors", hostPath: { path: mirrors, type: "DirectoryOrCreate" } });
    sharedMounts.push({ name: "git-mirrors", mountPath: GIT_MIRRORS_PATH });
  }

  const initContainers: V1Container[] = [];
  if (checkout) {
    const checkoutMounts = [...sharedMounts];
    const checkoutEnv = [...env];
    if (mountAgent) {
      volumes.push({ name: "buildkite-agent", emptyDir: {} });
      checkoutMounts.push({ name: "buildkite-agent", mountPath: AGENT_COPY_PATH });
    }
    const credentials = secretFor(options, "git-credentials");
    if (credentials) {
      const { volume, mount } = credentialVolume("git-credentials", credentials, "git-credentials");
      volumes.push(volume);
      checkoutMounts.push(mount);
    }
    const ssh = secretFor(options, "git-ssh");
    if (ssh) {
      const { volume, mount } = credentialVolume("git-ssh-key", ssh, "ssh-key");
      volumes.push(volume);
      checkoutMounts.push(mount);
    }
    const token = secretFor(options, "agent-token");
    if (token) {
      checkoutEnv.push({ name: "BUILDKITE_AGENT_TOKEN", valueFrom: { secretKeyRef: token } });
    }
    initContainers.push({
      name: CHECKOUT_CONTAINER,
      image: options["init-image"],
      imagePullPolicy: "IfNotPresent",
      args: [
        "bootstrap",
        "--phases",
        "checkout",
        ...(mirrors ? ["--git-mirrors-path", GIT_MIRRORS_PATH] : []),
      ],
      env: checkoutEnv,
      envFrom: envFrom(options["init-environment-from-secret"]),
      volumeMounts: checkoutMounts,
    });
  }

  const stepMounts = [...sharedMounts];
  if (checkoutMountedAtWorkdir(config.options, step)) {
    stepMounts.push({
      name: "build",
      mountPath: mountPathKey(normalizePath(options.workdir!)),
      subPath: relativePath(step.buildPath, step.checkoutPath),
    });
  }
  if (mountAgent) {
    stepMounts.push({
      name: "buildkite-agent",
      mountPath: AGENT_BINARY_PATH,
      subPath: "buildkite-agent",
    });
  }
  const hostPaths = hostPathVolumes(options["mount-hostpath"]);
  const secrets = secretVolumes(options["mount-secret"]);
  refuseMountsOver(stepMounts, {
    "mount-secret": secrets.mounts,
    "mount-hostpath": hostPaths.mounts,
  });
  volumes.push(...secrets.volumes, ...hostPaths.volumes);
  stepMounts.push(...secrets.mounts, ...hostPaths.mounts);

  initContainers.push(...sidecarContainers(options.sidecars, buildMount));

  const stepContainer: V1Container = {
    name: STEP_CONTAINER,
    image: options.image,
    imagePullPolicy: options["always-pull"] ? "Always" : "IfNotPresent",
    ...commandOf(config),
    workingDir: options.workdir ?? step.checkoutPath,
    env: [...env, ...environmentOption(options.environment)],
    envFrom: envFrom(options["environment-from-secret"]),
    resources: resources(options),
    securityContext: options.privileged ? { privileged: true } : undefined,
    volumeMounts: stepMounts,
  };

  const job: V1Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      // Without the option, the namespace is the cluster access's, known only at run time.
      ...(options.namespace ? { namespace: options.namespace } : {}),
      labels: metadata.labels,
      annotations: metadata.jobAnnotations,
    },
    spec: {
      backoffLimit: options["job-backoff-limit"],
      completions: 1,
      parallelism: 1,
      ttlSecondsAfterFinished: options["job-ttl-seconds-after-finished"],
      activeDeadlineSeconds: activeDeadlineSeconds(config),
      template: {
        metadata: { labels: metadata.labels, annotations: metadata.podAnnotations },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: options["service-account-name"],
          securityContext: podSecurityContext(options),
          imagePullSecrets: options["image-pull-secrets"]?.map((secretName) => ({
            name: secretName,
          })),
          affinity: placement.affinity,
          tolerations: placement.tolerations,
          nodeSelector: placement.nodeSelector,
          initContainers: initContainers.length ? initContainers : undefined,
          containers: [stepContainer],
          volumes,
        },
      },
    },
  };
  return { job: dropUndefined(job), secretData };
}

/**
 * The Job's deadline: the step's own `active-deadline-seconds`, else its `timeout_in_minutes`,
 * else an agent-wide `active-deadline-seconds`, a default that must not cut short a step
 * that asked for longer; 0 is none.
 */
function activeDeadlineSeconds(config: Configuration): number | undefined {
  const { options, step, origins } = config;
  const option = options["active-deadline-seconds"];
  const agentWide = origins["active-deadline-seconds"]?.startsWith(FLAT_PREFIX) ?? false;
  const stepsOwn = option !== undefined && !agentWide;
  const seconds = stepsOwn || step.timeoutMinutes === undefined ? option : step.timeoutMinutes * 60;
  return seconds === 0 ? undefined : seconds;
}

/** Removes `undefined` fields so the object serialises and compares cleanly. */
export function dropUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}
