import assert from "node:assert/strict";
import type { ConfigMap, Container, Pod, Secret } from "../kube_types.ts";
import { type ConfigSource, ContainerConfigError, resolveContainerEnv } from "./container_env.ts";

const pod: Pod = {
  metadata: {
    name: "step-1",
    namespace: "ci",
    uid: "uid-1",
    labels: { app: "build", "job-name": "j" },
    annotations: { note: "hi" },
  },
  spec: { containers: [], nodeName: "kbk-node", serviceAccountName: "builder" },
};

const secrets: Record<string, Secret> = {
  token: { metadata: { name: "token" }, data: { TOKEN: btoa("s3cret"), OTHER: btoa("x") } },
};
const configMaps: Record<string, ConfigMap> = {
  settings: { metadata: { name: "settings" }, data: { LEVEL: "debug" } },
};
const source: ConfigSource = {
  secret: (name) => Promise.resolve(secrets[name]),
  configMap: (name) => Promise.resolve(configMaps[name]),
};
const context = {
  addresses: { podIP: "127.0.0.1", hostIP: "127.0.0.1" },
  serviceEnv: new Map([["KUBERNETES_SERVICE_HOST", "127.0.0.1"], ["LEVEL", "service"]]),
  allocatable: { cpu: "2", memory: "8Gi" },
};

function env(container: Partial<Container>) {
  return resolveContainerEnv(pod, { name: "main", ...container }, source, context);
}

Deno.test("resolveContainerEnv resolves every kind of source", async () => {
  const result = await env({
    envFrom: [{ secretRef: { name: "token" }, prefix: "S_" }, {
      configMapRef: { name: "settings" },
    }],
    env: [
      { name: "PLAIN", value: "v" },
      { name: "EXPANDED", value: "$(PLAIN)-$(S_TOKEN)-$(NOPE)-$$(PLAIN)" },
      { name: "FROM_SECRET", valueFrom: { secretKeyRef: { name: "token", key: "TOKEN" } } },
      { name: "FROM_MAP", valueFrom: { configMapKeyRef: { name: "settings", key: "LEVEL" } } },
      { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
      { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: "NOTE", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
      { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
      { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
      { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
      {
        name: "MEM",
        valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
      },
    ],
  });
  assert.deepEqual(Object.fromEntries(result), {
    S_TOKEN: "s3cret",
    S_OTHER: "x",
    LEVEL: "debug",
    PLAIN: "v",
    EXPANDED: "v-s3cret-$(NOPE)-$(PLAIN)",
    FROM_SECRET: "s3cret",
    FROM_MAP: "debug",
    POD: "step-1",
    NS: "ci",
    UID: "uid-1",
    APP: "build",
    NOTE: "hi",
    NODE: "kbk-node",
    SA: "builder",
    IP: "127.0.0.1",
    HOST: "127.0.0.1",
    MEM: "8192",
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
  });
});

Deno.test("resolveContainerEnv fails like the kubelet when a source is missing", async () => {
  const cases: [Partial<Container>, string][] = [
    [
      { env: [{ name: "X", valueFrom: { secretKeyRef: { name: "absent", key: "K" } } }] },
      'secret "absent" not found',
    ],
    [
      { env: [{ name: "X", valueFrom: { secretKeyRef: { name: "token", key: "NOPE" } } }] },
      "couldn't find key NOPE in Secret ci/token",
    ],
    [
      { env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "settings", key: "NOPE" } } }] },
      "couldn't find key NOPE in ConfigMap ci/settings",
    ],
    [{ envFrom: [{ configMapRef: { name: "absent" } }] }, 'configmap "absent" not found'],
    [{ envFrom: [{ secretRef: { name: "absent" } }] }, 'secret "absent" not found'],
  ];
  for (const [container, message] of cases) {
    await assert.rejects(env(container), (error) => {
      assert.ok(error instanceof ContainerConfigError);
      assert.equal(error.message, message);
      return true;
    });
  }
});

Deno.test("resolveContainerEnv skips optional sources that are missing", async () => {
  const result = await env({
    envFrom: [{ secretRef: { name: "absent", optional: true } }],
    env: [
      { name: "A", valueFrom: { secretKeyRef: { name: "absent", key: "K", optional: true } } },
      { name: "B", valueFrom: { secretKeyRef: { name: "token", key: "NO", optional: true } } },
      { name: "C", value: "c" },
    ],
  });
  assert.deepEqual([...result.keys()], ["C", "KUBERNETES_SERVICE_HOST", "LEVEL"]);
});
