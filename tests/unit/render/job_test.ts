/** Each option's effect on the Job, one row per option. */
import assert from "node:assert/strict";
import type { V1Container, V1Job, V1PodSpec } from "@kubernetes/client-node";
import { renderStep } from "../../../src/render/mod.ts";
import { DEFAULT_INIT_IMAGE } from "../../../src/version.ts";
import { configFor } from "../helpers.ts";

async function jobFor(
  plugin: Record<string, unknown>,
  env: Record<string, string | undefined> = {},
) {
  return (await renderStep(configFor(plugin, env))).job;
}
const pod = (job: V1Job): V1PodSpec => job.spec!.template.spec!;
const step = (job: V1Job): V1Container => pod(job).containers.find((c) => c.name === "step")!;
const checkout = (job: V1Job) => pod(job).initContainers?.find((c) => c.name === "bootstrap");
const JOB_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const sidecar = (job: V1Job, name: string): V1Container =>
  pod(job).initContainers!.find((c) => c.name === name)!;
const envOf = (container: V1Container, name: string) => container.env?.find((e) => e.name === name);

type Row = [
  string,
  Record<string, unknown>,
  (job: V1Job) => void,
  Record<string, string | undefined>?,
];

const rows: Row[] = [
  ["image", {}, (job) => assert.equal(step(job).image, "alpine:3")],
  ["always-pull default", {}, (job) => assert.equal(step(job).imagePullPolicy, "IfNotPresent")],
  [
    "always-pull true",
    { "always-pull": true },
    (job) => assert.equal(step(job).imagePullPolicy, "Always"),
  ],
  ["the step's command through /bin/sh -e -c", {}, (job) => {
    assert.deepEqual(step(job).command, ["/bin/sh", "-e", "-c"]);
    assert.deepEqual(step(job).args, ["make test"]);
  }],
  [
    "the step's command reaches the shell as written, past the kubelet's $(NAME) expansion",
    {},
    (job) => {
      assert.deepEqual(step(job).args, ["echo $$$$ '$$(HOME)' $$1"]);
    },
    { BUILDKITE_COMMAND: "echo $$ '$(HOME)' $1" },
  ],
  ["command becomes args for the image's entrypoint", { command: ["--verbose", "run"] }, (job) => {
    assert.equal(step(job).command, undefined);
    assert.deepEqual(step(job).args, ["--verbose", "run"]);
  }, { BUILDKITE_COMMAND: "" }],
  ["entrypoint with the step's command", { entrypoint: ["/bin/bash", "-c"] }, (job) => {
    assert.deepEqual(step(job).command, ["/bin/bash", "-c"]);
    assert.deepEqual(step(job).args, ["make test"]);
  }],
  ["entrypoint as one string", { entrypoint: "/my/entrypoint.sh", command: "x" }, (job) => {
    assert.deepEqual(step(job).command, ["/my/entrypoint.sh"]);
    assert.deepEqual(step(job).args, ["x"]);
  }, { BUILDKITE_COMMAND: "" }],
  ["environment appended after the job's variables (so it wins)", {
    environment: ["A=1", "B=x=y", "C=$(A)"],
  }, (job) => {
    const env = step(job).env!;
    assert.deepEqual(env.slice(-3), [{ name: "A", value: "1" }, { name: "B", value: "x=y" }, {
      name: "C",
      value: "$(A)",
    }]);
    assert.equal(envOf(checkout(job)!, "A"), undefined);
  }],
  ["environment-from-secret", { "environment-from-secret": ["s1", "s2"] }, (job) => {
    assert.deepEqual(step(job).envFrom, [{ secretRef: { name: "s1" } }, {
      secretRef: { name: "s2" },
    }]);
    assert.equal(checkout(job)!.envFrom, undefined);
  }],
  ["init-environment-from-secret", { "init-environment-from-secret": "s3" }, (job) => {
    assert.deepEqual(checkout(job)!.envFrom, [{ secretRef: { name: "s3" } }]);
    assert.equal(step(job).envFrom, undefined);
  }],
  [
    "init-image default: the published image at this version, bootstrap --phases checkout",
    {},
    (job) => {
      assert.equal(checkout(job)!.image, DEFAULT_INIT_IMAGE);
      assert.deepEqual(checkout(job)!.args, ["bootstrap", "--phases", "checkout"]);
    },
  ],
  [
    "init-image custom",
    { "init-image": "registry.example/agent:1" },
    (job) => assert.equal(checkout(job)!.image, "registry.example/agent:1"),
  ],
  ["init-image empty: no checkout container, no agent mount", { "init-image": "" }, (job) => {
    assert.equal(pod(job).initContainers, undefined);
    assert.equal(step(job).volumeMounts!.some((m) => m.name === "buildkite-agent"), false);
  }],
  [
    "privileged",
    { privileged: true },
    (job) => assert.deepEqual(step(job).securityContext, { privileged: true }),
  ],
  ["not privileged by default", {}, (job) => assert.equal(step(job).securityContext, undefined)],
  ["agent-token-secret-name", { "agent-token-secret-name": "tok" }, (job) => {
    assert.deepEqual(envOf(checkout(job)!, "BUILDKITE_AGENT_TOKEN")!.valueFrom, {
      secretKeyRef: { name: "tok", key: "buildkite-agent-token" },
    });
    assert.equal(envOf(step(job), "BUILDKITE_AGENT_TOKEN"), undefined);
  }],
  [
    "agent-token-secret-key",
    { "agent-token-secret-name": "tok", "agent-token-secret-key": "k" },
    (job) => {
      assert.deepEqual(envOf(checkout(job)!, "BUILDKITE_AGENT_TOKEN")!.valueFrom, {
        secretKeyRef: { name: "tok", key: "k" },
      });
    },
  ],
  ["git-credentials-secret-name", { "git-credentials-secret-name": "gc" }, (job) => {
    const volume = pod(job).volumes!.find((v) => v.name === "git-credentials")!;
    assert.deepEqual(volume.secret, {
      secretName: "gc",
      defaultMode: 0o400,
      items: [{ key: "git-credentials", path: "git-credentials" }],
    });
    assert.deepEqual(checkout(job)!.volumeMounts!.find((m) => m.name === "git-credentials"), {
      name: "git-credentials",
      mountPath: "/secrets/git-credentials",
      subPath: "git-credentials",
    });
  }],
  ["git-credentials-secret-key", {
    "git-credentials-secret-name": "gc",
    "git-credentials-secret-key": ".git-credentials",
  }, (job) => {
    assert.equal(
      pod(job).volumes!.find((v) => v.name === "git-credentials")!.secret!.items![0].key,
      ".git-credentials",
    );
  }],
  ["git-ssh-secret-name and key", {
    "git-ssh-secret-name": "ssh",
    "git-ssh-secret-key": "id_ed25519",
  }, (job) => {
    const volume = pod(job).volumes!.find((v) => v.name === "git-ssh-key")!;
    assert.deepEqual(volume.secret!.items, [{ key: "id_ed25519", path: "ssh-key" }]);
    assert.equal(
      checkout(job)!.volumeMounts!.find((m) => m.name === "git-ssh-key")!.mountPath,
      "/secrets/ssh-key",
    );
    assert.equal(step(job).volumeMounts!.some((m) => m.name === "git-ssh-key"), false);
  }],
  ["default-secret-name supplies all three", { "default-secret-name": "bk" }, (job) => {
    const names = pod(job).volumes!.filter((v) => v.secret).map((v) => v.secret!.secretName);
    assert.deepEqual(names, ["bk", "bk"]);
    assert.equal(
      envOf(checkout(job)!, "BUILDKITE_AGENT_TOKEN")!.valueFrom!.secretKeyRef!.name,
      "bk",
    );
  }],
  ["a specific secret name beats default-secret-name", {
    "default-secret-name": "bk",
    "git-ssh-secret-name": "ssh",
  }, (job) => {
    assert.equal(
      pod(job).volumes!.find((v) => v.name === "git-ssh-key")!.secret!.secretName,
      "ssh",
    );
    assert.equal(
      pod(job).volumes!.find((v) => v.name === "git-credentials")!.secret!.secretName,
      "bk",
    );
  }],
  [
    "mount-hostpath",
    { "mount-hostpath": ["/var/cache/npm:/root/.npm", "/data:/data:ro"] },
    (job) => {
      assert.deepEqual(
        pod(job).volumes!.filter((v) => v.hostPath && v.name.startsWith("hostpath")),
        [
          { name: "hostpath-0", hostPath: { path: "/var/cache/npm", type: "DirectoryOrCreate" } },
          { name: "hostpath-1", hostPath: { path: "/data", type: "DirectoryOrCreate" } },
        ],
      );
      assert.deepEqual(step(job).volumeMounts!.filter((m) => m.name.startsWith("hostpath")), [
        { name: "hostpath-0", mountPath: "/root/.npm" },
        { name: "hostpath-1", mountPath: "/data", readOnly: true },
      ]);
    },
  ],
  ["mount-secret", { "mount-secret": "npmrc:/etc/npm" }, (job) => {
    assert.deepEqual(pod(job).volumes!.find((v) => v.name === "secret-0"), {
      name: "secret-0",
      secret: { secretName: "npmrc" },
    });
    assert.deepEqual(step(job).volumeMounts!.find((m) => m.name === "secret-0"), {
      name: "secret-0",
      mountPath: "/etc/npm",
    });
  }],
  ["mount-buildkite-agent default: copied to /local, mounted at /usr/local/bin", {}, (job) => {
    assert.deepEqual(checkout(job)!.volumeMounts!.find((m) => m.name === "buildkite-agent"), {
      name: "buildkite-agent",
      mountPath: "/local",
    });
    assert.deepEqual(step(job).volumeMounts!.find((m) => m.name === "buildkite-agent"), {
      name: "buildkite-agent",
      mountPath: "/usr/local/bin/buildkite-agent",
      subPath: "buildkite-agent",
    });
  }],
  ["mount-buildkite-agent false", { "mount-buildkite-agent": false }, (job) => {
    assert.equal(pod(job).volumes!.some((v) => v.name === "buildkite-agent"), false);
  }],
  ["build volume is an emptyDir at the build path in both containers", {}, (job) => {
    assert.deepEqual(pod(job).volumes![0], { name: "build", emptyDir: {} });
    for (const container of [step(job), checkout(job)!]) {
      assert.deepEqual(container.volumeMounts![0], {
        name: "build",
        mountPath: "/buildkite/builds",
      });
    }
  }],
  ["build-path-host-path", { "build-path-host-path": "/mnt/builds" }, (job) => {
    assert.deepEqual(pod(job).volumes![0], {
      name: "build",
      hostPath: { path: "/mnt/builds", type: "DirectoryOrCreate" },
    });
  }],
  ["build-path-pvc", { "build-path-pvc": "builds" }, (job) => {
    assert.deepEqual(pod(job).volumes![0], {
      name: "build",
      persistentVolumeClaim: { claimName: "builds" },
    });
  }],
  ["git-mirrors-host-path: both containers mount it, bootstrap uses it", {
    "git-mirrors-host-path": "/mnt/mirrors",
  }, (job) => {
    assert.deepEqual(pod(job).volumes!.find((v) => v.name === "git-mirrors"), {
      name: "git-mirrors",
      hostPath: { path: "/mnt/mirrors", type: "DirectoryOrCreate" },
    });
    assert.deepEqual(checkout(job)!.args, [
      "bootstrap",
      "--phases",
      "checkout",
      "--git-mirrors-path",
      "/buildkite/git-mirrors",
    ]);
    for (const container of [step(job), checkout(job)!]) {
      assert.ok(
        container.volumeMounts!.some((m) =>
          m.name === "git-mirrors" && m.mountPath === "/buildkite/git-mirrors"
        ),
      );
    }
  }],
  ["resources", {
    "resources-request-cpu": "500m",
    "resources-limit-cpu": 2,
    "resources-request-memory": "256Mi",
    "resources-limit-memory": "1Gi",
  }, (job) => {
    assert.deepEqual(step(job).resources, {
      requests: { cpu: "500m", memory: "256Mi" },
      limits: { cpu: "2", memory: "1Gi" },
    });
  }],
  ["no resources by default", {}, (job) => assert.equal(step(job).resources, undefined)],
  [
    "service-account-name default",
    {},
    (job) => assert.equal(pod(job).serviceAccountName, "default"),
  ],
  [
    "service-account-name",
    { "service-account-name": "builder" },
    (job) => assert.equal(pod(job).serviceAccountName, "builder"),
  ],
  ["namespace", { namespace: "ci" }, (job) => assert.equal(job.metadata!.namespace, "ci")],
  [
    "namespace default: left to the cluster access at run time",
    {},
    (job) => assert.equal(job.metadata!.namespace, undefined),
  ],
  [
    "workdir default: the checkout directory",
    {},
    (job) => assert.equal(step(job).workingDir, "/buildkite/builds/agent-1/acme/my-app"),
  ],
  ["workdir: the checkout mounted there, where the command runs", { workdir: "/src" }, (job) => {
    assert.equal(step(job).workingDir, "/src");
    assert.deepEqual(step(job).volumeMounts?.find((mount) => mount.mountPath === "/src"), {
      name: "build",
      mountPath: "/src",
      subPath: "agent-1/acme/my-app",
    });
  }],
  [
    "workdir in the checkout: only the working directory, the checkout is already there",
    { workdir: "/buildkite/builds/agent-1/acme/my-app/web/" },
    (job) => {
      assert.equal(step(job).workingDir, "/buildkite/builds/agent-1/acme/my-app/web/");
      assert.deepEqual(step(job).volumeMounts?.map((mount) => mount.mountPath), [
        "/buildkite/builds",
        "/usr/local/bin/buildkite-agent",
      ]);
    },
  ],
  [
    "workdir without a checkout container: only the working directory, nothing mounted over it",
    { workdir: "/app", "init-image": "", "mount-buildkite-agent": false },
    (job) => {
      assert.equal(step(job).workingDir, "/app");
      assert.deepEqual(step(job).volumeMounts?.map((mount) => mount.mountPath), [
        "/buildkite/builds",
      ]);
    },
  ],
  ["patch", {
    patch: "function(job) job + {spec+: {template+: {spec+: {priorityClassName: 'ci'}}}}",
  }, (job) => {
    assert.equal(pod(job).priorityClassName, "ci");
  }],
  ["pod-spec-patch merges containers and env by name", {
    "pod-spec-patch": {
      containers: [{
        name: "step",
        env: [{ name: "BUILDKITE_BRANCH", value: "patched" }],
        stdin: false,
      }],
    },
  }, (job) => {
    assert.equal(envOf(step(job), "BUILDKITE_BRANCH")!.value, "patched");
    assert.equal(step(job).stdin, false);
    assert.equal(step(job).image, "alpine:3");
  }],
  ["pod-spec-patch applies before patch", {
    "pod-spec-patch": { nodeSelector: { disk: "ssd" } },
    patch: "function(job) job + {spec+: {template+: {spec+: {nodeSelector+: {zone: 'a'}}}}}",
  }, (job) => assert.deepEqual(pod(job).nodeSelector, { disk: "ssd", zone: "a" })],
  [
    "job-backoff-limit default and value",
    { "job-backoff-limit": 2 },
    (job) => assert.equal(job.spec!.backoffLimit, 2),
  ],
  [
    "job-ttl-seconds-after-finished default",
    {},
    (job) => assert.equal(job.spec!.ttlSecondsAfterFinished, 3600),
  ],
  [
    "job-ttl-seconds-after-finished",
    { "job-ttl-seconds-after-finished": 60 },
    (job) => assert.equal(job.spec!.ttlSecondsAfterFinished, 60),
  ],
  ["image-pull-secrets", { "image-pull-secrets": ["reg1", "reg2"] }, (job) => {
    assert.deepEqual(pod(job).imagePullSecrets, [{ name: "reg1" }, { name: "reg2" }]);
  }],
  ["restartPolicy Never, one pod", {}, (job) => {
    assert.equal(pod(job).restartPolicy, "Never");
    assert.equal(job.spec!.completions, 1);
    assert.equal(job.spec!.backoffLimit, 0);
  }],
  [
    "activeDeadlineSeconds from BUILDKITE_TIMEOUT minutes",
    {},
    (job) => assert.equal(job.spec!.activeDeadlineSeconds, 1200),
    { BUILDKITE_TIMEOUT: "20" },
  ],
  [
    "no deadline without a step timeout",
    {},
    (job) => assert.equal(job.spec!.activeDeadlineSeconds, undefined),
    { BUILDKITE_TIMEOUT: "false" },
  ],
  [
    "active-deadline-seconds of the step's own overrides its timeout_in_minutes",
    { "active-deadline-seconds": 90 },
    (job) => assert.equal(job.spec!.activeDeadlineSeconds, 90),
    { BUILDKITE_TIMEOUT: "20" },
  ],
  [
    "active-deadline-seconds of the step's own without a step timeout",
    { "active-deadline-seconds": 5400 },
    (job) => assert.equal(job.spec!.activeDeadlineSeconds, 5400),
    { BUILDKITE_TIMEOUT: "false" },
  ],
  [
    "active-deadline-seconds 0: no deadline, even with a step timeout",
    { "active-deadline-seconds": 0 },
    (job) => assert.equal(job.spec!.activeDeadlineSeconds, undefined),
    { BUILDKITE_TIMEOUT: "20" },
  ],
  [
    "active-deadline-seconds agent-wide: the deadline of a step without a timeout",
    {},
    (job) => assert.equal(job.spec!.activeDeadlineSeconds, 7200),
    { BUILDKITE_TIMEOUT: "false", BUILDKITE_PLUGIN_KUBERNETES_ACTIVE_DEADLINE_SECONDS: "7200" },
  ],
  [
    "active-deadline-seconds agent-wide: a step's timeout_in_minutes still wins",
    {},
    (job) => assert.equal(job.spec!.activeDeadlineSeconds, 10800),
    { BUILDKITE_TIMEOUT: "180", BUILDKITE_PLUGIN_KUBERNETES_ACTIVE_DEADLINE_SECONDS: "7200" },
  ],
  ["metadata: labels and annotations on the Job and its pod", {
    metadata: {
      labels: { team: "ci", "example.com/cost-centre": "a-1_b.2", empty: "" },
      annotations: { "example.com/owner": "Team CI <ci@example.com>", note: "multi\nline" },
    },
  }, (job) => {
    for (const metadata of [job.metadata!, job.spec!.template.metadata!]) {
      assert.equal(metadata.labels!.team, "ci");
      assert.equal(metadata.labels!["example.com/cost-centre"], "a-1_b.2");
      assert.equal(metadata.labels!.empty, "");
      assert.equal(metadata.labels!["buildkite/plugin"], "kubernetes");
      assert.equal(metadata.annotations!["example.com/owner"], "Team CI <ci@example.com>");
      assert.equal(metadata.annotations!.note, "multi\nline");
      assert.equal(metadata.annotations!["buildkite/job-id"], JOB_ID);
    }
  }],
  ["metadata: an annotation wins over the plugin's default ones on the pod", {
    metadata: {
      annotations: {
        "sidecar.istio.io/inject": "true",
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
      },
    },
  }, (job) => {
    const annotations = job.spec!.template.metadata!.annotations!;
    assert.equal(annotations["sidecar.istio.io/inject"], "true");
    assert.equal(annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"], "true");
  }],
  ["safe-to-evict default: the pod is not safe to evict, the Job carries nothing", {}, (job) => {
    const key = "cluster-autoscaler.kubernetes.io/safe-to-evict";
    assert.equal(job.spec!.template.metadata!.annotations![key], "false");
    assert.equal(job.metadata!.annotations![key], undefined);
  }],
  [
    "safe-to-evict true",
    { "safe-to-evict": true },
    (job) =>
      assert.equal(
        job.spec!.template.metadata!.annotations!["cluster-autoscaler.kubernetes.io/safe-to-evict"],
        "true",
      ),
  ],
  [
    "safe-to-evict agent-wide",
    {},
    (job) =>
      assert.equal(
        job.spec!.template.metadata!.annotations!["cluster-autoscaler.kubernetes.io/safe-to-evict"],
        "true",
      ),
    { BUILDKITE_PLUGIN_KUBERNETES_SAFE_TO_EVICT: "true" },
  ],
  ["run-as-user, run-as-group, fs-group: the pod's securityContext, the checkout as that user", {
    "run-as-user": 1000,
    "run-as-group": 1001,
    "fs-group": 1002,
  }, (job) => {
    assert.deepEqual(pod(job).securityContext, {
      runAsUser: 1000,
      runAsGroup: 1001,
      fsGroup: 1002,
    });
    assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 1000, runAsGroup: 1001 });
    assert.deepEqual(envOf(checkout(job)!, "HOME"), { name: "HOME", value: "/tmp" });
    assert.equal(envOf(step(job), "HOME"), undefined);
  }],
  [
    "fs-group alone: the pod's fsGroup, the checkout as root like the step",
    { "fs-group": 1000 },
    (job) => {
      assert.deepEqual(pod(job).securityContext, { fsGroup: 1000 });
      assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 0, runAsGroup: 0 });
      assert.equal(envOf(checkout(job)!, "HOME"), undefined);
    },
  ],
  ["run-as-user 0: the checkout keeps its home", { "run-as-user": 0 }, (job) => {
    assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 0 });
    assert.equal(envOf(checkout(job)!, "HOME"), undefined);
  }],
  [
    "no user options: the checkout runs as root like the step, whatever its image's user",
    {},
    (job) => {
      assert.equal(pod(job).securityContext, undefined);
      assert.equal(step(job).securityContext, undefined);
      assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 0, runAsGroup: 0 });
    },
  ],
  ["runAsNonRoot without a user: the checkout's user is its image's", {
    "pod-spec-patch": { securityContext: { runAsNonRoot: true } },
  }, (job) => {
    assert.equal(checkout(job)!.securityContext, undefined);
  }],
  ["pod-spec-patch's step container user: the checkout runs as it too", {
    "pod-spec-patch": {
      containers: [{ name: "step", securityContext: { runAsUser: 1000, runAsGroup: 1000 } }],
    },
  }, (job) => {
    assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 1000, runAsGroup: 1000 });
    assert.deepEqual(envOf(checkout(job)!, "HOME"), { name: "HOME", value: "/tmp" });
  }],
  ["pod-spec-patch's pod user: the checkout runs as it too", {
    "pod-spec-patch": { securityContext: { runAsUser: 2000 } },
  }, (job) => {
    assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 2000 });
  }],
  ["pod-spec-patch's step user wins over run-as-user for the checkout", {
    "run-as-user": 1000,
    "pod-spec-patch": { containers: [{ name: "step", securityContext: { runAsUser: 3000 } }] },
  }, (job) => {
    assert.equal(pod(job).securityContext!.runAsUser, 1000);
    assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 3000 });
  }],
  ["pod-spec-patch's checkout user of its own is kept", {
    "run-as-user": 1000,
    "pod-spec-patch": {
      initContainers: [{ name: "bootstrap", securityContext: { runAsUser: 0 } }],
    },
  }, (job) => {
    assert.deepEqual(checkout(job)!.securityContext, { runAsUser: 0 });
    assert.equal(envOf(checkout(job)!, "HOME"), undefined);
  }],
  ["run-as-user without a checkout container", { "run-as-user": 1000, "init-image": "" }, (job) => {
    assert.equal(pod(job).initContainers, undefined);
    assert.deepEqual(pod(job).securityContext, { runAsUser: 1000 });
  }],
  [
    "artifact_paths: the command runs, then the upload, exiting with the command's status",
    {},
    (job) => {
      const command = step(job).command!;
      assert.deepEqual(command.slice(0, 2), ["/bin/sh", "-c"]);
      assert.match(
        command[2],
        /"\$@"\nstatus=\$\?\n[\s\S]*buildkite-agent artifact upload "\$BUILDKITE_ARTIFACT_PATHS"[\s\S]*exit "\$status"$/,
      );
      assert.deepEqual(command.slice(3), ["buildkite-step", "/bin/sh", "-e", "-c", "make test"]);
      assert.equal(step(job).args, undefined);
    },
    { BUILDKITE_ARTIFACT_PATHS: "out/*" },
  ],
  [
    "sidecars: native sidecars (restartPolicy: Always) after the checkout, before the step",
    { sidecars: [{ name: "db", image: "postgres:16" }, { name: "cache", image: "redis:7" }] },
    (job) => {
      assert.deepEqual(pod(job).initContainers!.map((c) => [c.name, c.restartPolicy]), [
        ["bootstrap", undefined],
        ["db", "Always"],
        ["cache", "Always"],
      ]);
      assert.deepEqual(pod(job).containers.map((c) => c.name), ["step"]);
      assert.equal(sidecar(job, "db").imagePullPolicy, "IfNotPresent");
      assert.equal(sidecar(job, "db").volumeMounts, undefined);
    },
  ],
  [
    "sidecars: the Kubernetes fields as given",
    {
      sidecars: [{
        name: "db",
        image: "postgres:16",
        imagePullPolicy: "Always",
        command: "docker-entrypoint.sh",
        args: ["postgres", "-c", "fsync=off"],
        workingDir: "/srv",
        env: [{ name: "POSTGRES_PASSWORD", value: "test" }, {
          name: "TOKEN",
          valueFrom: { secretKeyRef: { name: "db-token", key: "token" } },
        }],
        ports: [{ containerPort: 5432, name: "pg" }],
        resources: { requests: { cpu: "250m", memory: 256 }, limits: { memory: "1Gi" } },
        startupProbe: { tcpSocket: { port: "pg" }, periodSeconds: 1, failureThreshold: 30 },
        readinessProbe: { exec: { command: ["pg_isready"] } },
        volumeMounts: [{ name: "secret-0", mountPath: "/certs", readOnly: true }],
      }],
      "mount-secret": "certs:/certs",
    },
    (job) => {
      assert.deepEqual(sidecar(job, "db"), {
        name: "db",
        image: "postgres:16",
        imagePullPolicy: "Always",
        command: ["docker-entrypoint.sh"],
        args: ["postgres", "-c", "fsync=off"],
        workingDir: "/srv",
        env: [{ name: "POSTGRES_PASSWORD", value: "test" }, {
          name: "TOKEN",
          valueFrom: { secretKeyRef: { name: "db-token", key: "token" } },
        }],
        ports: [{ containerPort: 5432, name: "pg" }],
        resources: { requests: { cpu: "250m", memory: "256" }, limits: { memory: "1Gi" } },
        startupProbe: { tcpSocket: { port: "pg" }, periodSeconds: 1, failureThreshold: 30 },
        readinessProbe: { exec: { command: ["pg_isready"] } },
        volumeMounts: [{ name: "secret-0", mountPath: "/certs", readOnly: true }],
        restartPolicy: "Always",
      });
    },
  ],
  [
    "sidecars: mount-checkout mounts the build volume where the step has it",
    { sidecars: [{ name: "lint", image: "alpine:3", "mount-checkout": true }] },
    (job) => {
      assert.deepEqual(sidecar(job, "lint").volumeMounts, [{
        name: "build",
        mountPath: "/buildkite/builds",
      }]);
      assert.ok(step(job).volumeMounts!.some((m) => m.name === "build"));
    },
  ],
  [
    "sidecars without a checkout container: first of the init containers",
    { "init-image": "", sidecars: [{ name: "db", image: "postgres:16" }] },
    (job) => assert.deepEqual(pod(job).initContainers!.map((c) => c.name), ["db"]),
  ],
  [
    "lost-pod-retries changes nothing in the Job",
    { "lost-pod-retries": 3 },
    (job) => assert.deepEqual(pod(job).initContainers!.map((c) => c.name), ["bootstrap"]),
  ],
];

for (const [name, plugin, check, env] of rows) {
  Deno.test(`option effect: ${name}`, async () => check(await jobFor(plugin, env)));
}

Deno.test("use-agent-node-affinity copies the agent pod's placement given at run time", async () => {
  const config = configFor({ "use-agent-node-affinity": true });
  const placement = {
    nodeSelector: { pool: "ci" },
    tolerations: [{ key: "ci", operator: "Exists", effect: "NoSchedule" }],
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
  };
  const { job } = await renderStep(config, { placement });
  assert.deepEqual(pod(job).nodeSelector, placement.nodeSelector);
  assert.deepEqual(pod(job).tolerations, placement.tolerations);
  assert.deepEqual(pod(job).affinity, placement.affinity);
});

Deno.test("labels and annotations: the build's facts under buildkite/, the job id and the plugin", async () => {
  const job = await jobFor({}, {
    BUILDKITE_BUILD_URL: "https://buildkite.com/acme/my-app/builds/42",
    BUILDKITE_STEP_KEY: "test",
  });
  const name = job.metadata!.name!;
  assert.match(name, /^my-app-42-[0-9a-f]{10}$/);
  assert.deepEqual(job.metadata!.labels, {
    "buildkite/build-id": "0190a1b2-0000-7000-8000-000000000001",
    "buildkite/repo": "git-github.com-acme-my-app.git",
    "buildkite/branch": "main",
    "buildkite/pipeline": "my-app",
    "job-name": name,
    "buildkite/plugin": "kubernetes",
    "buildkite/job-id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  });
  const annotations = job.metadata!.annotations!;
  assert.equal(annotations["buildkite/build-url"], "https://buildkite.com/acme/my-app/builds/42");
  assert.equal(annotations["buildkite/step-key"], "test");
  assert.equal(annotations["buildkite/pipeline"], "my-app");
  assert.equal(annotations["buildkite/job-id"], "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  assert.equal(annotations["buildkite/repo"], "git@github.com:acme/my-app.git");
  assert.deepEqual(
    Object.keys(annotations).filter((key) => key !== "job-name" && !key.startsWith("buildkite/")),
    [],
    "every Buildkite fact under one prefix",
  );
  assert.deepEqual(job.spec!.template.metadata!.labels, job.metadata!.labels);
  assert.equal(job.spec!.template.metadata!.annotations!["sidecar.istio.io/inject"], "false");
});
