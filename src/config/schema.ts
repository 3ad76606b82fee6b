/**
 * Every plugin option: its type, default, validation and description. This schema is the
 * single source of truth for the TypeScript types, the defaults, `plugin.yml`'s
 * `configuration` and the README's option table (`deno task docs` writes both).
 *
 * @module
 */
import type {
  V1ContainerPort,
  V1EnvVar,
  V1Probe,
  V1ResourceRequirements,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { z } from "zod";
import { DEFAULT_INIT_IMAGE } from "../version.ts";
import {
  ANNOTATIONS_SIZE_LIMIT,
  annotationsSize,
  LABEL_VALUE_PATTERN,
  QUALIFIED_NAME_PATTERN,
  reservedKey,
} from "./metadata.ts";

/** A Kubernetes resource quantity such as `500m`, `2`, `1.5Gi` or `1e3`. */
export const QUANTITY_PATTERN =
  /^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/** A DNS-1123 subdomain: the names of Secrets, ServiceAccounts and PVCs. */
export const SUBDOMAIN_PATTERN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS-1123 label: namespace names. */
export const LABEL_PATTERN = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const ABSOLUTE_PATH = /^\/[^:]*$/;
const HOSTPATH_MOUNT = /^\/[^:]*:\/[^:]*(:(ro|rw))?$/;
const SECRET_MOUNT =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*:\/[^:]*(:(ro|rw))?$/;
const ENVIRONMENT_ENTRY = /^[^=]+=/s;

const SUBDOMAIN_HINT = "lower-case letters, digits, '-' and '.', starting and ending alphanumeric";

function secretName() {
  return z.string().regex(SUBDOMAIN_PATTERN, {
    error: `must be a Kubernetes object name (${SUBDOMAIN_HINT})`,
  });
}

function secretKey() {
  return z.string().regex(/^[-._a-zA-Z0-9]+$/, {
    error: "must be a Secret key (letters, digits, '-', '_' and '.')",
  });
}

/** One item or a list of them; the parsed value is always a list. */
function oneOrMany<T extends z.ZodType<string>>(item: T) {
  return z.union([item, z.array(item)]).transform((value) =>
    typeof value === "string" ? [value] : value as string[]
  );
}

function quantity() {
  const error = "must be a Kubernetes quantity such as 500m, 2, 1.5 or 512Mi";
  return z.union([
    z.string().regex(QUANTITY_PATTERN, { error }),
    z.number().nonnegative({ error }),
  ]).transform((value) => String(value));
}

function seconds() {
  return z.int({ error: "must be a whole number of seconds" }).min(0, {
    error: "must be 0 or more seconds",
  });
}

/** A label or annotation key: a qualified name that is not the plugin's or the Job controller's. */
function metadataKey(kind: "label" | "annotation") {
  return z.string()
    .regex(QUALIFIED_NAME_PATTERN, {
      error: `must be a ${kind} key: an optional DNS subdomain prefix (at most 253) and '/', ` +
        "then at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric",
    })
    .refine((key) => reservedKey(key) === undefined, {
      error: (issue) => reservedKey(issue.input as string),
    });
}

const NOT_A_STRING = 'must be a string (quote numbers and booleans: "1", "true")';

function metadata() {
  return z.strictObject({
    labels: z.record(
      metadataKey("label"),
      z.string({ error: NOT_A_STRING }).regex(LABEL_VALUE_PATTERN, {
        error:
          "must be a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric",
      }),
    ).optional(),
    annotations: z.record(metadataKey("annotation"), z.string({ error: NOT_A_STRING }))
      .refine((annotations) => annotationsSize(annotations) <= ANNOTATIONS_SIZE_LIMIT, {
        error: (issue) =>
          `has ${
            annotationsSize(issue.input as Record<string, string>)
          } bytes of keys and values, over Kubernetes' limit of ${ANNOTATIONS_SIZE_LIMIT} (256 KiB)`,
      })
      .optional(),
  });
}

// Sidecars: the fields of a Kubernetes container that a service beside the step needs, as
// Kubernetes spells them; each shape is checked against the client's own type.

/** The names the plugin gives its own containers, which a sidecar cannot take. */
export const RESERVED_CONTAINER_NAMES = ["bootstrap", "step"] as const;

function port() {
  return z.int({ error: "must be a port number (1-65535)" }).min(1, {
    error: "must be a port number (1-65535)",
  }).max(65535, { error: "must be a port number (1-65535)" });
}

/** A probe's port: a number, or the name of one of the container's `ports`. */
function portOrName() {
  return z.union([
    port(),
    z.string().regex(/^(?=.{1,15}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
      error: "must be a port number or a port's name",
    }),
  ]);
}

function count(least: number) {
  return z.int({ error: "must be a whole number" }).min(least, {
    error: `must be ${least} or more`,
  });
}

const probeSchema = z.strictObject({
  exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
  httpGet: z.strictObject({
    path: z.string().optional(),
    port: portOrName(),
    host: z.string().optional(),
    scheme: z.enum(["HTTP", "HTTPS"]).optional(),
    httpHeaders: z.array(z.strictObject({ name: z.string().min(1), value: z.string() }))
      .optional(),
  }).optional(),
  tcpSocket: z.strictObject({ port: portOrName(), host: z.string().optional() }).optional(),
  grpc: z.strictObject({ port: port(), service: z.string().optional() }).optional(),
  initialDelaySeconds: count(0).optional(),
  periodSeconds: count(1).optional(),
  timeoutSeconds: count(1).optional(),
  successThreshold: count(1).optional(),
  failureThreshold: count(1).optional(),
  terminationGracePeriodSeconds: count(1).optional(),
}).refine(
  (probe) => [probe.exec, probe.httpGet, probe.tcpSocket, probe.grpc].filter(Boolean).length === 1,
  { error: "must have exactly one of exec, httpGet, tcpSocket or grpc" },
) satisfies z.ZodType<V1Probe>;

const envVarSchema = z.strictObject({
  name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, {
    error: "must be a variable name (letters, digits, '_', '-' and '.', not starting with a digit)",
  }),
  value: z.string().optional(),
  valueFrom: z.strictObject({
    secretKeyRef: z.strictObject({
      name: secretName(),
      key: secretKey(),
      optional: z.boolean().optional(),
    }).optional(),
    configMapKeyRef: z.strictObject({
      name: secretName(),
      key: secretKey(),
      optional: z.boolean().optional(),
    }).optional(),
    fieldRef: z.strictObject({ fieldPath: z.string().min(1), apiVersion: z.string().optional() })
      .optional(),
  }).optional(),
}).refine((env) => (env.value === undefined) !== (env.valueFrom === undefined), {
  error: "must have either value or valueFrom",
}) satisfies z.ZodType<V1EnvVar>;

const containerPortSchema = z.strictObject({
  containerPort: port(),
  name: z.string().regex(/^(?=.{1,15}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    error: "must be a port name (lower-case letters, digits and '-', at most 15)",
  }).optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
}) satisfies z.ZodType<V1ContainerPort>;

const resourcesSchema = z.strictObject({
  requests: z.record(z.string(), quantity()).optional(),
  limits: z.record(z.string(), quantity()).optional(),
}) satisfies z.ZodType<V1ResourceRequirements>;

const volumeMountSchema = z.strictObject({
  name: z.string().regex(LABEL_PATTERN, {
    error: "must be the name of one of the pod's volumes",
  }),
  mountPath: z.string().regex(ABSOLUTE_PATH, { error: "must be an absolute path" }),
  readOnly: z.boolean().optional(),
  subPath: z.string().optional(),
}) satisfies z.ZodType<V1VolumeMount>;

/** One sidecar: a container that runs beside the step's, as long as the step runs. */
export const sidecarSchema = z.strictObject({
  name: z.string().regex(LABEL_PATTERN, {
    error: "must be a container name (lower-case letters, digits and '-', at most 63)",
  }).refine((name) => !(RESERVED_CONTAINER_NAMES as readonly string[]).includes(name), {
    error: `is the name of one of the plugin's containers (${
      RESERVED_CONTAINER_NAMES.join(", ")
    }); choose another`,
  }),
  image: z.string().min(1, { error: "must not be empty" }),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  command: oneOrMany(z.string()).optional(),
  args: oneOrMany(z.string()).optional(),
  workingDir: z.string().regex(ABSOLUTE_PATH, { error: "must be an absolute path" }).optional(),
  env: z.array(envVarSchema).optional(),
  ports: z.array(containerPortSchema).optional(),
  resources: resourcesSchema.optional(),
  startupProbe: probeSchema.optional(),
  readinessProbe: probeSchema.optional(),
  volumeMounts: z.array(volumeMountSchema).optional(),
  "mount-checkout": z.boolean().default(false),
});

/** A sidecar as validated. */
export type Sidecar = z.output<typeof sidecarSchema>;

/** The plugin's options, as a pipeline author writes them. */
export const optionsSchema = z.strictObject({
  "image": z.string().min(1, { error: "must not be empty" })
    .describe("The container image the step runs in."),
  "always-pull": z.boolean().default(false)
    .describe("Pull the image on every run (`imagePullPolicy: Always` instead of `IfNotPresent`)."),
  "command": oneOrMany(z.string()).optional()
    .describe(
      "The container's `args`: the command given to the image's entrypoint. Not allowed when the step has its own `command`.",
    ),
  "entrypoint": oneOrMany(z.string()).optional()
    .describe("The container's `command`: overrides the image's entrypoint."),
  "environment": z.array(
    z.string().regex(ENVIRONMENT_ENTRY, { error: "must be KEY=value" }),
  ).optional()
    .describe(
      "Extra environment variables for the step container, each `KEY=value` (Kubernetes `$(VAR)` references expand).",
    ),
  "environment-from-secret": oneOrMany(secretName()).optional()
    .describe("Secrets whose keys become environment variables of the step container, in order."),
  "init-environment-from-secret": oneOrMany(secretName()).optional()
    .describe("Secrets whose keys become environment variables of the checkout container."),
  "init-image": z.string().default(DEFAULT_INIT_IMAGE)
    .describe(
      'The checkout container\'s image: it must run `buildkite-agent` with the given arguments. `""` disables the checkout container.',
    ),
  "privileged": z.boolean().default(false)
    .describe("Run the step container privileged."),
  "agent-token-secret-name": secretName().optional()
    .describe(
      "Secret with an agent token, given to the checkout container as `BUILDKITE_AGENT_TOKEN`.",
    ),
  "agent-token-secret-key": secretKey().default("buildkite-agent-token")
    .describe("Key of the agent token in its Secret."),
  "git-credentials-secret-name": secretName().optional()
    .describe(
      "Secret with a git credential store file, used by the checkout container for HTTPS remotes.",
    ),
  "git-credentials-secret-key": secretKey().default("git-credentials")
    .describe("Key of the git credentials in their Secret."),
  "git-ssh-secret-name": secretName().optional()
    .describe("Secret with an SSH private key, used by the checkout container for SSH remotes."),
  "git-ssh-secret-key": secretKey().default("ssh-key")
    .describe("Key of the SSH key in its Secret."),
  "default-secret-name": secretName().optional()
    .describe(
      "One Secret holding the agent token, git credentials and SSH key under the keys above; a specific `*-secret-name` wins.",
    ),
  "mount-hostpath": oneOrMany(
    z.string().regex(HOSTPATH_MOUNT, {
      error: "must be /host/path:/container/path, optionally followed by :ro",
    }),
  ).optional()
    .describe(
      "Host directories to mount into the step container: `/host/path:/container/path[:ro]`.",
    ),
  "mount-secret": oneOrMany(
    z.string().regex(SECRET_MOUNT, {
      error: "must be secretName:/container/path, optionally followed by :ro",
    }),
  ).optional()
    .describe(
      "Secrets to mount as directories in the step container: `secretName:/container/path`.",
    ),
  "mount-buildkite-agent": z.boolean().default(true)
    .describe(
      "Put the checkout container's `buildkite-agent` at `/usr/local/bin/buildkite-agent` in the step container.",
    ),
  "build-path-host-path": z.string().regex(ABSOLUTE_PATH, { error: "must be an absolute path" })
    .optional()
    .describe("Host directory to hold the build directory (shared, persistent checkouts)."),
  "build-path-pvc": secretName().optional()
    .describe("PersistentVolumeClaim to hold the build directory."),
  "git-mirrors-host-path": z.string().regex(ABSOLUTE_PATH, { error: "must be an absolute path" })
    .optional()
    .describe(
      "Host directory for git mirrors; the checkout uses `--git-mirrors-path` and both containers mount it.",
    ),
  "resources-request-cpu": quantity().optional()
    .describe("CPU request of the step container."),
  "resources-limit-cpu": quantity().optional()
    .describe("CPU limit of the step container."),
  "resources-request-memory": quantity().optional()
    .describe("Memory request of the step container."),
  "resources-limit-memory": quantity().optional()
    .describe("Memory limit of the step container."),
  "service-account-name": secretName().default("default")
    .describe("ServiceAccount the pod runs as."),
  "use-agent-node-affinity": z.boolean().default(false)
    .describe(
      "Copy the affinity, tolerations and nodeSelector of the agent's own pod (found at run time).",
    ),
  "workdir": z.string().regex(ABSOLUTE_PATH, { error: "must be an absolute path" }).optional()
    .describe(
      "Working directory of the step container, with the checkout mounted there (default: the checkout directory).",
    ),
  "patch": z.string().optional()
    .describe("A jsonnet function `function(job) ...` applied to the finished Job, last."),
  "pod-spec-patch": z.record(z.string(), z.unknown()).optional()
    .describe(
      "An object merged into the pod spec like `kubectl patch --type strategic` (containers, env, volumes by name; volumeMounts by mountPath).",
    ),
  "print-resulting-job-spec": z.boolean().default(false)
    .describe(
      "Print the Job (and the per-step Secret, redacted) to the build log before creating it.",
    ),
  "job-backoff-limit": z.int({ error: "must be a whole number" }).min(0, {
    error: "must be 0 or more",
  })
    .default(0)
    .describe("The Job's `backoffLimit`: how many times a failed pod is retried."),
  "job-ttl-seconds-after-finished": seconds().default(3600)
    .describe("The Job's `ttlSecondsAfterFinished`."),
  "jobs-cleanup-via-plugin": z.boolean().default(true)
    .describe(
      "At the end of a step, delete this plugin's Jobs older than a day in the namespace that have ended.",
    ),
  "job-cleanup-after-finished-via-plugin": z.boolean().default(true)
    .describe("At the end of a step, delete its Job."),
  "namespace": z.string().regex(LABEL_PATTERN, {
    error: "must be a namespace name (lower-case letters, digits and '-', at most 63)",
  }).optional()
    .describe(
      "Namespace of the Job (default: the kubeconfig context's, else the agent pod's, else `default`).",
    ),
  "image-pull-secrets": oneOrMany(secretName()).optional()
    .describe("Secrets the pod uses to pull images."),
  "pending-timeout": seconds().default(600)
    .describe(
      "Seconds the pod may stay unscheduled or not started before the step fails (0: no limit).",
    ),
  "image-pull-grace": seconds().default(60)
    .describe(
      "Seconds of `ErrImagePull`/`ImagePullBackOff`/`CreateContainerConfigError` before the step fails.",
    ),
  "pod-creation-grace": seconds().default(60)
    .describe(
      "Seconds the Job may fail to create its pod (`FailedCreate`: quota, an admission webhook, a ServiceAccount being created) before the step fails; a PodSecurity violation or a pod the API server finds invalid fails at once.",
    ),
  "api-unreachable-timeout": seconds().default(300)
    .describe(
      "Seconds the Kubernetes API may stay unreachable while the step runs before the step fails with 97 (0: no limit).",
    ),
  "sidecars": z.array(sidecarSchema).optional()
    .describe(
      "Containers run beside the step as native sidecars (Kubernetes 1.29+), after the checkout: `name`, `image`, `imagePullPolicy`, `command`, `args`, `workingDir`, `env`, `ports`, `resources`, `startupProbe`, `readinessProbe`, `volumeMounts` as Kubernetes spells them, and `mount-checkout: true` to mount the build directory where the step has it. The step starts once every sidecar has started (its `startupProbe` passed); one that ends or fails its startup probe before then fails the step with 93.",
    ),
  "lost-pod-retries": z.int({ error: "must be a whole number" }).min(0, {
    error: "must be 0 or more",
  }).default(1)
    .describe(
      "How many times a pod lost before the step's command started (evicted, preempted, its node shut down or deleted) is replaced by a new Job (0: never). A pod lost after the command started ends the step with 96.",
    ),
  "agent-checkout": z.boolean().default(false)
    .describe(
      "Also check the repository out on the agent (the pod always checks out; by default the agent skips it).",
    ),
  // Metadata, non-root images and the deadline (issue 14).
  "metadata": metadata().optional()
    .describe(
      "`labels` and `annotations` for the Job and its pod, over the plugin's own; keys under `buildkite/` and the Job controller's (`job-name`, `controller-uid`, `batch.kubernetes.io/`) are refused.",
    ),
  "safe-to-evict": z.boolean().default(false)
    .describe(
      'The pod\'s `cluster-autoscaler.kubernetes.io/safe-to-evict` annotation: by default `"false"`, so the cluster autoscaler does not evict a running step to scale its node down.',
    ),
  "run-as-user": z.int({ error: "must be a whole number (a user id)" }).min(0, {
    error: "must be a user id, 0 or more",
  }).optional()
    .describe(
      "The pod's `securityContext.runAsUser`: the step, and the checkout so that it belongs to that user, run as this user id.",
    ),
  "run-as-group": z.int({ error: "must be a whole number (a group id)" }).min(0, {
    error: "must be a group id, 0 or more",
  }).optional()
    .describe("The pod's `securityContext.runAsGroup`: the primary group of every container."),
  "fs-group": z.int({ error: "must be a whole number (a group id)" }).min(0, {
    error: "must be a group id, 0 or more",
  }).optional()
    .describe(
      "The pod's `securityContext.fsGroup`: a supplementary group of every container, which owns the build volume (an `emptyDir` or `build-path-pvc`, not a host path).",
    ),
  "active-deadline-seconds": seconds().optional()
    .describe(
      "The Job's `activeDeadlineSeconds`: a step's own overrides its `timeout_in_minutes`, an agent-wide one applies to steps without either (0: no deadline).",
    ),
});

/** The options as written, before defaults and normalisation. */
export type OptionsInput = z.input<typeof optionsSchema>;

/** The options after validation: defaults applied, string-or-list values as lists. */
export type Options = z.output<typeof optionsSchema>;

/** Every option name. */
export type OptionName = keyof Options;

/** Every option name, in the schema's order. */
export const OPTION_NAMES = Object.keys(optionsSchema.shape) as OptionName[];

/** The JSON Schema of the options, as `plugin.yml`'s `configuration` carries it. */
export function optionsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(optionsSchema, { io: "input", target: "draft-07" });
  delete schema.$schema;
  return schema as Record<string, unknown>;
}
