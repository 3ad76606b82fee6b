import assert from "node:assert/strict";
import type { Pod } from "./kube_types.ts";
import { freshNamespace, readPodLog, testCluster, waitFor } from "./testing.ts";

Deno.test("restartPolicy OnFailure restarts a failed container and keeps its last state", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const pods = `/api/v1/namespaces/${ns}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "flaky" },
    spec: {
      restartPolicy: "OnFailure",
      containers: [{
        name: "step",
        image: "alpine:3.20",
        // Fails on the first attempt, succeeds on the second (the emptyDir outlives attempts).
        command: [
          "sh",
          "-c",
          "if [ -e /work/tried ]; then echo second; else touch /work/tried; echo first; exit 1; fi",
        ],
        volumeMounts: [{ name: "work", mountPath: "/work" }],
      }],
      volumes: [{ name: "work", emptyDir: {} }],
    },
  });
  const pod = await waitFor<Pod>(
    cluster.api,
    pods,
    "flaky",
    (pod) => pod?.status?.phase === "Succeeded",
    {
      timeoutMs: 60_000,
      description: "succeed on its second attempt",
    },
  );
  const status = pod!.status!.containerStatuses![0];
  assert.equal(status.restartCount, 1);
  assert.equal(status.lastState.terminated?.exitCode, 1);
  assert.equal(status.state.terminated?.exitCode, 0);
  assert.notEqual(status.lastState.terminated?.containerID, status.state.terminated?.containerID);
  assert.equal(await readPodLog(cluster, ns, "flaky"), "second\n");
  // The kubelet keeps one dead container of each: the first attempt's, and its log, are
  // collected once the second has ended.
  assert.match(
    await readPodLog(cluster, ns, "flaky", { previous: true }),
    /^unable to retrieve container logs for containerd:\/\//,
  );
});
