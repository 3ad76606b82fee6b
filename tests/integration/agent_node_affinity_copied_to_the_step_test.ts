/**
 * `use-agent-node-affinity`: the step's pod gets the nodeSelector, tolerations and affinity
 * of the agent's own pod (named by POD_NAME and POD_NAMESPACE, as the agent chart sets
 * them), so it runs where the agent may run. Without such a pod the step stops before
 * anything is created, naming the option.
 */
import assert from "node:assert/strict";
import type { KubeList, Pod } from "../cluster/kube_types.ts";
import { NODE_NAME } from "../cluster/control_plane.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { objectNames, stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

const NODE = NODE_NAME;

Deno.test("the step's pod gets the agent pod's nodeSelector, tolerations and affinity", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const pods = `/api/v1/namespaces/${ns}/pods`;
  // As the API server stored it, admission defaults included.
  const agent = await cluster.api.post<Pod>(pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "agent" },
    spec: {
      restartPolicy: "Never",
      nodeSelector: { "kubernetes.io/hostname": NODE },
      tolerations: [{
        key: "buildkite.com/agents",
        operator: "Equal",
        value: "true",
        effect: "NoSchedule",
      }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{
              matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }],
            }],
          },
        },
      },
      containers: [{ name: "agent", image: "alpine:3", command: ["true"] }],
    },
  });

  const result = await runStep({
    namespace: ns,
    plugin: {
      image: "alpine:3",
      "init-image": "",
      "use-agent-node-affinity": true,
      // Kept after the step, so that its pod is read here.
      "job-cleanup-after-finished-via-plugin": false,
    },
    command: "echo placed like the agent",
    env: { POD_NAME: "agent", POD_NAMESPACE: ns },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.ok(result.stdout.endsWith("\nplaced like the agent\n"), result.stdout);

  const steps = await cluster.api.get<KubeList<Pod>>(pods, {
    labelSelector: `batch.kubernetes.io/job-name=${stepJobName(result.jobId)}`,
  });
  assert.equal(steps.items.length, 1);
  const step = steps.items[0].spec;
  assert.deepEqual(step.nodeSelector, { "kubernetes.io/hostname": NODE });
  assert.deepEqual(step.nodeSelector, agent.spec.nodeSelector);
  assert.deepEqual(step.tolerations, agent.spec.tolerations);
  assert.ok(step.tolerations?.some((t) => t.key === "buildkite.com/agents"), "the toleration");
  assert.deepEqual(step.affinity, agent.spec.affinity);
  assert.equal(step.nodeName, NODE);
});

Deno.test("use-agent-node-affinity without the agent's pod: 78 naming the option, nothing created", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  const result = await runStep({
    namespace: ns,
    plugin: { image: "alpine:3", "init-image": "", "use-agent-node-affinity": true },
    command: "echo the command ran",
    env: { POD_NAME: "no-such-agent", POD_NAMESPACE: ns },
  });
  assert.equal(result.status, 78, result.stdout + result.stderr);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    "kubernetes plugin: option `use-agent-node-affinity`: cannot read the agent's pod " +
      `${ns}/no-such-agent: pods "no-such-agent" not found\n`,
  );
  assert.deepEqual(await objectNames(ns, "jobs"), []);
  assert.deepEqual(await objectNames(ns, "secrets"), []);
});
