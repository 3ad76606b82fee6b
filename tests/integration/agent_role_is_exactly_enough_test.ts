/**
 * The agent chart's Role is exactly enough: a whole step (node affinity lookup, the agent's
 * pod as the Job's owner, submit, follow, logs, verdict, cleanup) runs authenticated as the
 * chart's ServiceAccount, a lost answer to a creation included; and without any one rule, the operation that needs it fails with the API server's message.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { type Cluster, freshNamespace, testCluster } from "../cluster/testing.ts";
import { renderKubeconfig } from "../cluster/kubeconfig.ts";
import { NODE_NAME } from "../cluster/control_plane.ts";
import { startHttpProxy } from "../cluster/http_proxy.ts";
import { binaryPath, helmTemplate, run } from "../helm.ts";
import { runStep, type StepResult } from "./step_runner.ts";

const RELEASE = "agent";

/**
 * Installs the chart's ServiceAccount, Role and RoleBinding (with `rbac.rules.<omit>=null`)
 * into `namespace`; returns a kubeconfig authenticated as that ServiceAccount.
 */
async function installAgentIdentity(
  cluster: Cluster,
  namespace: string,
  omit?: string,
): Promise<string> {
  const manifests = helmTemplate("agent", {
    namespace,
    release: RELEASE,
    // Steps in the agent's own namespace: the layout where the Job is owned by the agent's pod.
    set: ["stepsNamespace.enabled=false", ...omit ? [`rbac.rules.${omit}=null`] : []],
  });
  const wanted = YAML.parseAllDocuments(manifests).map((document) => document.toJSON())
    .filter((object) => ["ServiceAccount", "Role", "RoleBinding"].includes(object?.kind));
  assert.deepEqual(wanted.map((object) => object.kind).sort(), [
    "Role",
    "RoleBinding",
    "ServiceAccount",
  ]);
  const applied = run(
    binaryPath("kubectl"),
    ["--kubeconfig", cluster.kubeconfigPath, "apply", "-f", "-"],
    wanted.map((object) => YAML.stringify(object)).join("---\n"),
  );
  assert.equal(applied.status, 0, applied.stderr);
  const account = wanted.find((object) => object.kind === "ServiceAccount").metadata.name;
  const request = await cluster.api.post<{ status: { token: string } }>(
    `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 },
    },
  );
  const admin = Deno.readTextFileSync(cluster.kubeconfigPath);
  const connection = {
    server: YAML.parse(admin).clusters[0].cluster.server,
    caCert: atob(YAML.parse(admin).clusters[0].cluster["certificate-authority-data"]),
    token: request.status.token,
  };
  const path = await Deno.makeTempFile({ prefix: "kbk-agent-sa-", suffix: ".kubeconfig" });
  await Deno.writeTextFile(path, renderKubeconfig(connection, "agent-service-account"));
  return path;
}

/** A stand-in for the agent's own pod, for `use-agent-node-affinity`. */
async function agentPod(cluster: Cluster, namespace: string): Promise<string> {
  const name = "buildkite-agent-0";
  await cluster.api.post(`/api/v1/namespaces/${namespace}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      nodeSelector: { "kubernetes.io/hostname": NODE_NAME },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "ci", effect: "NoSchedule" }],
      containers: [{ name: "agent", image: "alpine:3", command: ["sleep", "600"] }],
    },
  });
  return name;
}

function step(namespace: string, kubeconfigPath: string, extra: Record<string, unknown> = {}) {
  return runStep({
    namespace,
    kubeconfigPath,
    plugin: { "image": "alpine:3", "init-image": "", ...extra },
    command: "echo from the pod\nexit 3",
    env: { BUILDKITE_AGENT_ACCESS_TOKEN: "a-job-token" },
  });
}

function log(result: StepResult): string {
  return result.stdout + result.stderr;
}

Deno.test("as the chart's ServiceAccount, a whole step runs: affinity, submit, follow, logs, verdict, cleanup", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const kubeconfig = await installAgentIdentity(cluster, namespace.name);
  const pod = await agentPod(cluster, namespace.name);
  type Jobs = {
    items: {
      metadata: { ownerReferences?: { kind: string; name: string }[] };
      spec: { template: { spec: Record<string, unknown> } };
    }[];
  };
  // Read while the step runs: the command hook deletes its Job after the verdict.
  let running: Promise<Jobs> | undefined;
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: kubeconfig,
    plugin: { "image": "alpine:3", "init-image": "", "use-agent-node-affinity": true },
    command: "echo from the pod\nsleep 2\nexit 3",
    env: {
      BUILDKITE_AGENT_ACCESS_TOKEN: "a-job-token",
      POD_NAME: pod,
      POD_NAMESPACE: namespace.name,
    },
    onOutput: (stdout) => {
      if (stdout.includes("from the pod\n")) {
        running ??= cluster.api.get<Jobs>(`/apis/batch/v1/namespaces/${namespace.name}/jobs`);
      }
    },
  });
  assert.equal(result.status, 3, log(result));
  assert.match(result.stdout, /\+\+\+ :kubernetes: alpine:3\nfrom the pod\n/);
  assert.ok(running, log(result));
  const jobs = await running;
  assert.deepEqual(jobs.items[0].spec.template.spec.nodeSelector, {
    "kubernetes.io/hostname": NODE_NAME,
  });
  // Owned by the agent's pod, read with the Role's `pods` rule.
  assert.deepEqual(
    jobs.items[0].metadata.ownerReferences?.map(({ kind, name }) => ({ kind, name })),
    [{ kind: "Pod", name: pod }],
  );
  const cleanup = await runStep({
    namespace: namespace.name,
    kubeconfigPath: kubeconfig,
    plugin: { "image": "alpine:3" },
    subcommand: "cleanup",
    jobId: result.jobId,
  });
  // The command hook deleted its Job, and swept old ones, as the Role allows; cleanup lists
  // them again and finds nothing.
  const after = await cluster.api.get<{ items: unknown[] }>(
    `/apis/batch/v1/namespaces/${namespace.name}/jobs`,
  );
  assert.deepEqual(after.items, []);
  assert.equal(result.stdout.includes("could not"), false, log(result));
  assert.equal(cleanup.status, 0);
  assert.equal(cleanup.stdout, "~~~ :kubernetes: Cleanup\n");
  await Deno.remove(kubeconfig);
});

for (const [kind, collection] of [["Job", "/jobs"], ["Secret", "/secrets"]]) {
  Deno.test(`as the chart's ServiceAccount, a ${kind} created but its answer lost (503) is retried, and the step runs`, async () => {
    const cluster = testCluster();
    await using namespace = await freshNamespace();
    const kubeconfig = await installAgentIdentity(cluster, namespace.name);
    let posted = 0;
    // A load balancer in front of the API server answering 503 once the server has acted.
    await using proxy = await startHttpProxy(kubeconfig, async (request, forward) => {
      const answer = await forward();
      if (request.method !== "POST" || !request.path.endsWith(collection) || posted++ > 0) {
        return answer;
      }
      await answer.body?.cancel();
      return new Response("upstream connect error", { status: 503 });
    });
    const result = await step(namespace.name, proxy.kubeconfigPath);
    assert.equal(posted, 2, `the ${kind}'s creation was answered 503 and tried again`);
    assert.equal(result.status, 3, log(result));
    assert.match(
      result.stdout,
      new RegExp(
        `kubernetes plugin: creating ${kind} scenario-1-[0-9a-f]{10} failed \\(upstream connect error\\); retrying in 0\\.3s\\n`,
      ),
    );
    assert.match(result.stdout, /\+\+\+ :kubernetes: alpine:3\nfrom the pod\n/);
    await Deno.remove(kubeconfig);
  });
}

const withoutRule: [string, string, (result: StepResult) => void][] = [
  ["jobs", "creating the Job fails (90) with the server's refusal", (result) => {
    assert.equal(result.status, 90, log(result));
    assert.match(
      log(result),
      /creating Job scenario-1-[0-9a-f]{10} failed \(403 Forbidden\): jobs\.batch is forbidden: User "system:serviceaccount:t-[0-9a-f]+:agent" cannot create resource "jobs"/,
    );
  }],
  ["secrets", "creating the step's Secret fails (90); the suspended Job is removed", (result) => {
    assert.equal(result.status, 90, log(result));
    assert.match(
      log(result),
      /creating Secret scenario-1-[0-9a-f]{10} failed \(403 Forbidden\): secrets is forbidden: .* cannot create resource "secrets"/,
    );
  }],
  ["pods", "following the pod fails (97) with the refusal, and the Job is deleted", (result) => {
    assert.equal(result.status, 97, log(result));
    assert.match(
      log(result),
      /cannot watch the pods of Job .*: pods is forbidden: .* cannot list resource "pods"/,
    );
    assert.match(log(result), /kubernetes plugin: deleted Job /);
  }],
  [
    "podLogs",
    "the log cannot be read, said so; the exit status is still the command's",
    (result) => {
      assert.equal(result.status, 3, log(result));
      assert.match(
        log(result),
        /cannot read the log of step: pods "scenario-1-[0-9a-f]{10}-\w+" is forbidden: .* cannot get resource "pods\/log"/,
      );
      assert.equal(result.stdout.includes("from the pod"), false);
    },
  ],
  [
    "events",
    "Events cannot be watched, said so; the step still runs and ends with its status",
    (result) => {
      assert.equal(result.status, 3, log(result));
      assert.match(
        log(result),
        /cannot watch the Job's Events, so failures are explained less well: events is forbidden/,
      );
      assert.match(result.stdout, /from the pod\n/);
    },
  ],
];

for (const [rule, outcome, check] of withoutRule) {
  Deno.test(`without the Role's \`${rule}\` rule, ${outcome}`, async () => {
    const cluster = testCluster();
    await using namespace = await freshNamespace();
    const kubeconfig = await installAgentIdentity(cluster, namespace.name, rule);
    const result = await step(namespace.name, kubeconfig);
    check(result);
    if (rule === "secrets" || rule === "pods") {
      const jobs = await cluster.api.get<{ items: unknown[] }>(
        `/apis/batch/v1/namespaces/${namespace.name}/jobs`,
      );
      assert.deepEqual(jobs.items, [], "nothing is left running");
    }
    await Deno.remove(kubeconfig);
  });
}

Deno.test("without the `pods` rule, use-agent-node-affinity cannot read the agent's pod: 78, nothing created", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const kubeconfig = await installAgentIdentity(cluster, namespace.name, "pods");
  const pod = await agentPod(cluster, namespace.name);
  const result = await runStep({
    namespace: namespace.name,
    kubeconfigPath: kubeconfig,
    plugin: { "image": "alpine:3", "init-image": "", "use-agent-node-affinity": true },
    command: "true",
    env: { POD_NAME: pod, POD_NAMESPACE: namespace.name },
  });
  assert.equal(result.status, 78, log(result));
  assert.match(
    log(result),
    /option `use-agent-node-affinity`: cannot read the agent's pod t-[0-9a-f]+\/buildkite-agent-0: pods "buildkite-agent-0" is forbidden/,
  );
  const jobs = await cluster.api.get<{ items: unknown[] }>(
    `/apis/batch/v1/namespaces/${namespace.name}/jobs`,
  );
  assert.deepEqual(jobs.items, []);
  await Deno.remove(kubeconfig);
});
