import assert from "node:assert/strict";
import type { Pod } from "./kube_types.ts";
import { freshNamespace, testCluster, waitFor, waitForEvent } from "./testing.ts";

function pod(name: string, image: string, imagePullPolicy?: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      restartPolicy: "Never",
      containers: [{ name: "step", image, imagePullPolicy, command: ["true"] }],
    },
  };
}

function waitingReason(reason: string) {
  return (pod: Pod | undefined) =>
    pod?.status?.containerStatuses?.[0]?.state.waiting?.reason === reason;
}

Deno.test("an unpullable image shows ErrImagePull, then ImagePullBackOff", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const pods = `/api/v1/namespaces/${namespace.name}/pods`;
  await cluster.api.post(pods, pod("unpullable", "registry.invalid/nope:1"));
  const backingOff = await waitFor<Pod>(
    cluster.api,
    pods,
    "unpullable",
    waitingReason("ImagePullBackOff"),
    {
      timeoutMs: 60_000,
      description: "back off pulling",
    },
  );
  assert.equal(backingOff?.status?.phase, "Pending");
  assert.match(
    backingOff!.status!.containerStatuses![0].state.waiting!.message!,
    /^Back-off pulling image "registry.invalid\/nope:1": ErrImagePull: /,
  );
  const failed = await waitForEvent(
    cluster,
    namespace.name,
    "unpullable",
    (event) => event.reason === "Failed" && event.message.startsWith("Failed to pull image"),
    { timeoutMs: 30_000 },
  );
  assert.equal(failed.type, "Warning");
  assert.equal(failed.involvedObject.fieldPath, "spec.containers{step}");
  await waitForEvent(cluster, namespace.name, "unpullable", (event) => event.reason === "BackOff", {
    timeoutMs: 30_000,
  });
});

Deno.test("a malformed image reference is InvalidImageName", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const pods = `/api/v1/namespaces/${namespace.name}/pods`;
  await cluster.api.post(pods, pod("malformed", "UPPER/Case::x", "IfNotPresent"));
  const invalid = await waitFor<Pod>(
    cluster.api,
    pods,
    "malformed",
    waitingReason("InvalidImageName"),
    {
      timeoutMs: 60_000,
    },
  );
  assert.equal(
    invalid!.status!.containerStatuses![0].state.waiting!.message,
    'Failed to apply default image tag "UPPER/Case::x": couldn\'t parse image name ' +
      '"UPPER/Case::x": invalid reference format: repository name (Case) must be lowercase',
  );
});

Deno.test("imagePullPolicy Never with an image not on the node is ErrImageNeverPull", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const pods = `/api/v1/namespaces/${namespace.name}/pods`;
  await cluster.api.post(pods, pod("never", "example.org/not-here:1", "Never"));
  const never = await waitFor<Pod>(cluster.api, pods, "never", waitingReason("ErrImageNeverPull"), {
    timeoutMs: 60_000,
  });
  assert.equal(
    never!.status!.containerStatuses![0].state.waiting!.message,
    'Container image "example.org/not-here:1" is not present with pull policy of Never',
  );
});
