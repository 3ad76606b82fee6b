import assert from "node:assert/strict";
import type { Pod } from "./kube_types.ts";
import { freshNamespace, readPodLog, testCluster, waitFor } from "./testing.ts";

Deno.test("the project's image runs docker/entrypoint.sh and the real buildkite-agent", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await cluster.api.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "git" },
    stringData: { "git-credentials": "https://user:pass@example.com" },
  });
  const pods = `/api/v1/namespaces/${ns}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "agent-image" },
    spec: {
      restartPolicy: "Never",
      initContainers: [{
        name: "checkout",
        image: "quay.io/muhlba91/buildkite-agent:2.0.0",
        imagePullPolicy: "IfNotPresent",
        args: ["--version"],
        volumeMounts: [
          { name: "local", mountPath: "/local" },
          { name: "git", mountPath: "/secrets", readOnly: true },
        ],
      }],
      containers: [{
        name: "step",
        image: "alpine:3.20",
        command: ["sh", "-c", "/local/buildkite-agent --version"],
        volumeMounts: [{ name: "local", mountPath: "/local" }],
      }],
      volumes: [{ name: "local", emptyDir: {} }, { name: "git", secret: { secretName: "git" } }],
    },
  });
  const pod = await waitFor<Pod>(
    cluster.api,
    pods,
    "agent-image",
    (pod) => pod?.status?.phase === "Succeeded" || pod?.status?.phase === "Failed",
    {
      timeoutMs: 60_000,
      description: "finish",
    },
  );
  const checkout = await readPodLog(cluster, ns, "agent-image", { container: "checkout" });
  assert.equal(pod!.status!.phase, "Succeeded", checkout);
  assert.match(checkout, /entrypoint: git credentials: \/secrets\/git-credentials/);
  assert.match(checkout, /entrypoint: sharing buildkite-agent through \/local/);
  assert.match(checkout, /buildkite-agent version 3\.137\.2/);
  assert.equal(
    pod!.status!.initContainerStatuses![0].image,
    "quay.io/muhlba91/buildkite-agent:2.0.0",
  );
  assert.match(
    await readPodLog(cluster, ns, "agent-image", { container: "step" }),
    /buildkite-agent version 3\.137\.2/,
  );
});
