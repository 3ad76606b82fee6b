import assert from "node:assert/strict";
import { NODE_NAME } from "./control_plane.ts";
import type { Pod } from "./kube_types.ts";
import { freshNamespace, readPodLog, testCluster, waitFor, waitForEvent } from "./testing.ts";

const SCRIPT = [
  "cat /secrets/git-credentials; echo",
  // The kubelet writes each key as a symlink into a timestamped directory: -L for the file.
  "stat -L -c %a /secrets/git-credentials /secrets/ssh/key",
  'ls /secrets | tr "\\n" " "; echo',
  'echo "token=$TOKEN prefixed=$S_TOKEN pod=$POD_NAME ns=$POD_NAMESPACE node=$NODE ip=$POD_IP"',
  'echo "expanded=$EXPANDED"',
  "cat /workspace/file; pwd",
].join("; ");

Deno.test("a Secret volume and env from the Secret are visible in the container", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await cluster.api.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "step-secrets" },
    stringData: {
      "git-credentials": "https://user:pass@example.com",
      "ssh-key": "KEY",
      TOKEN: "t0k",
    },
  });
  const pods = `/api/v1/namespaces/${ns}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "uses-secrets" },
    spec: {
      restartPolicy: "Never",
      initContainers: [{
        name: "prepare",
        image: "alpine:3.20",
        command: ["sh", "-c", "echo from-init > /work/file"],
        volumeMounts: [{ name: "work", mountPath: "/work" }],
      }],
      containers: [{
        name: "step",
        image: "alpine:3.20",
        command: ["sh", "-c", SCRIPT],
        workingDir: "/workspace",
        env: [
          { name: "TOKEN", valueFrom: { secretKeyRef: { name: "step-secrets", key: "TOKEN" } } },
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "EXPANDED", value: "$(POD_NAME)-$(TOKEN)" },
        ],
        envFrom: [{ secretRef: { name: "step-secrets" }, prefix: "S_" }],
        volumeMounts: [
          { name: "secrets", mountPath: "/secrets", readOnly: true },
          { name: "work", mountPath: "/workspace" },
        ],
      }],
      volumes: [
        {
          name: "secrets",
          secret: {
            secretName: "step-secrets",
            defaultMode: 0o400,
            items: [
              { key: "git-credentials", path: "git-credentials" },
              { key: "ssh-key", path: "ssh/key", mode: 0o600 },
            ],
          },
        },
        { name: "work", emptyDir: {} },
      ],
    },
  });
  const pod = await waitFor<Pod>(
    cluster.api,
    pods,
    "uses-secrets",
    (pod) => pod?.status?.phase === "Succeeded",
    {
      timeoutMs: 60_000,
      description: "succeed",
    },
  );
  assert.ok(pod);
  assert.equal(
    await readPodLog(cluster, ns, "uses-secrets", { container: "step" }),
    [
      "https://user:pass@example.com",
      "400",
      "600",
      "git-credentials ssh ",
      `token=t0k prefixed=t0k pod=uses-secrets ns=${ns} node=${NODE_NAME} ip=${pod.status?.podIP}`,
      "expanded=uses-secrets-t0k",
      "from-init",
      "/workspace",
      "",
    ].join("\n"),
  );
});

Deno.test("a missing Secret holds the container in CreateContainerConfigError until it appears", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const pods = `/api/v1/namespaces/${ns}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "waits-for-secret" },
    spec: {
      restartPolicy: "Never",
      containers: [{
        name: "step",
        image: "alpine:3.20",
        command: ["sh", "-c", 'echo "token=$TOKEN"'],
        env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "late", key: "TOKEN" } } }],
      }],
    },
  });
  const waiting = await waitFor<Pod>(
    cluster.api,
    pods,
    "waits-for-secret",
    (pod) =>
      pod?.status?.containerStatuses?.[0]?.state.waiting?.reason === "CreateContainerConfigError",
    { timeoutMs: 60_000, description: "wait for its Secret" },
  );
  assert.equal(
    waiting!.status!.containerStatuses![0].state.waiting!.message,
    'secret "late" not found',
  );
  await waitForEvent(
    cluster,
    ns,
    "waits-for-secret",
    (event) => event.message === 'Error: secret "late" not found',
    {
      timeoutMs: 30_000,
    },
  );
  await cluster.api.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "late" },
    stringData: { TOKEN: "arrived" },
  });
  await waitFor<Pod>(
    cluster.api,
    pods,
    "waits-for-secret",
    (pod) => pod?.status?.phase === "Succeeded",
    {
      timeoutMs: 30_000,
      description: "start once the Secret exists",
    },
  );
  assert.equal(await readPodLog(cluster, ns, "waits-for-secret"), "token=arrived\n");
});
