import assert from "node:assert/strict";
import { ApiError } from "./api_client.ts";
import type { Pod } from "./kube_types.ts";
import { freshNamespace, readPodLog, testCluster, waitFor } from "./testing.ts";

async function temporaryDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "kbk-gate-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

function step(name: string, script: string) {
  return {
    name,
    image: "alpine:3.20",
    command: ["sh", "-c", script],
    volumeMounts: [{ name: "work", mountPath: "/work" }],
  };
}

Deno.test("init containers run one after another before the containers", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const pods = `/api/v1/namespaces/${ns}/pods`;
  // The second init container waits for the test to open this gate (a hostPath).
  await using gateDir = await temporaryDir();
  const gate = gateDir.path;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "ordered" },
    spec: {
      restartPolicy: "Never",
      initContainers: [
        step("first", "sleep 1; echo first >> /work/order"),
        {
          ...step(
            "second",
            "echo second >> /work/order; while [ ! -e /gate/go ]; do sleep 0.1; done",
          ),
          volumeMounts: [{ name: "work", mountPath: "/work" }, {
            name: "gate",
            mountPath: "/gate",
          }],
        },
      ],
      containers: [step("main", "echo main >> /work/order; cat /work/order")],
      volumes: [{ name: "work", emptyDir: {} }, { name: "gate", hostPath: { path: gate } }],
    },
  });
  const initializing = await waitFor<Pod>(
    cluster.api,
    pods,
    "ordered",
    (pod) => pod?.status?.initContainerStatuses?.[1]?.state.running !== undefined,
    { timeoutMs: 60_000, description: "run its second init container" },
  );
  const statuses = initializing!.status!;
  assert.equal(statuses.initContainerStatuses![0].state.terminated?.reason, "Completed");
  assert.equal(statuses.containerStatuses![0].state.waiting?.reason, "PodInitializing");
  assert.equal(statuses.phase, "Pending");
  const initialized = statuses.conditions!.find((condition) => condition.type === "Initialized");
  assert.equal(initialized?.status, "False");
  assert.equal(initialized?.reason, "ContainersNotInitialized");
  await assert.rejects(readPodLog(cluster, ns, "ordered", { container: "main" }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 400);
    assert.match(
      error.message,
      /container "main" in pod "ordered" is waiting to start: PodInitializing$/,
    );
    return true;
  });
  await Deno.writeTextFile(`${gate}/go`, "");
  await waitFor<Pod>(cluster.api, pods, "ordered", (pod) => pod?.status?.phase === "Succeeded", {
    timeoutMs: 60_000,
    description: "succeed",
  });
  assert.equal(
    await readPodLog(cluster, ns, "ordered", { container: "main" }),
    "first\nsecond\nmain\n",
  );
});

Deno.test("a failing init container fails the pod and its containers never start", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const pods = `/api/v1/namespaces/${namespace.name}/pods`;
  await cluster.api.post(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "bad-init" },
    spec: {
      restartPolicy: "Never",
      initContainers: [step("checkout", "echo cannot clone >&2; exit 128"), step("later", "true")],
      containers: [step("main", "true")],
      volumes: [{ name: "work", emptyDir: {} }],
    },
  });
  const pod = await waitFor<Pod>(
    cluster.api,
    pods,
    "bad-init",
    (pod) => pod?.status?.phase === "Failed",
    {
      timeoutMs: 60_000,
      description: "fail",
    },
  );
  const status = pod!.status!;
  assert.equal(status.initContainerStatuses![0].state.terminated?.exitCode, 128);
  assert.equal(status.initContainerStatuses![1].state.waiting?.reason, "PodInitializing");
  assert.equal(status.containerStatuses![0].state.waiting?.reason, "PodInitializing");
});
