/**
 * `jobs-cleanup-via-plugin`: the pre-exit hook also deletes this plugin's Jobs (by its
 * `buildkite/plugin` label) created more than a day ago, and keeps younger ones and other
 * Jobs; a Job it may not delete is reported, one line per Job, and never fails the build.
 *
 * The API server sets creationTimestamp itself, so the Jobs cannot be made old; instead the
 * hook's clock runs ahead (see `clock_ahead.ts`) by just under and just over a day.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readKubeconfig, renderKubeconfig } from "../cluster/kubeconfig.ts";
import { freshNamespace, testCluster } from "../cluster/testing.ts";
import { objectNames } from "./fixtures.ts";
import { jobEnvironment, newJobId } from "./step_runner.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const CLOCK_AHEAD = fileURLToPath(new URL("./clock_ahead.ts", import.meta.url));
const HOUR_MS = 60 * 60 * 1000;

/** Runs `cleanup` for a job of its own, with the program's clock `aheadMs` ahead. */
async function cleanupAhead(
  aheadMs: number,
  options: { namespace: string; plugin?: Record<string, unknown>; kubeconfigPath?: string },
) {
  const env = jobEnvironment({ plugin: { image: "alpine:3" }, ...options }, newJobId());
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", "--preload", CLOCK_AHEAD, MAIN, "cleanup"],
    env: { ...env, KBK_CLOCK_AHEAD_MS: String(aheadMs) },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { status: code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A suspended Job (it creates no pod) with the given labels. */
async function createJob(namespace: string, name: string, labels: Record<string, string>) {
  await testCluster().api.post(`/apis/batch/v1/namespaces/${namespace}/jobs`, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels },
    spec: {
      suspend: true,
      template: {
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "step", image: "alpine:3", command: ["true"] }],
        },
      },
    },
  });
}

const PLUGIN = { "buildkite/plugin": "kubernetes" };

Deno.test("cleanup deletes this plugin's Jobs older than a day, keeps young and other Jobs", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await createJob(ns, "plugin-job", PLUGIN);
  await createJob(ns, "other-job", { "buildkite/plugin": "other", app: "other" });

  const disabled = await cleanupAhead(25 * HOUR_MS, {
    namespace: ns,
    plugin: { image: "alpine:3", "jobs-cleanup-via-plugin": false },
  });
  assert.equal(disabled.status, 0, disabled.stdout + disabled.stderr);
  assert.equal(disabled.stdout, "~~~ :kubernetes: Cleanup\n");
  assert.deepEqual(await objectNames(ns, "jobs"), ["other-job", "plugin-job"]);

  const young = await cleanupAhead(23 * HOUR_MS, { namespace: ns });
  assert.equal(young.status, 0, young.stdout + young.stderr);
  assert.equal(young.stdout, "~~~ :kubernetes: Cleanup\n");
  assert.deepEqual(await objectNames(ns, "jobs"), ["other-job", "plugin-job"]);

  const old = await cleanupAhead(25 * HOUR_MS, { namespace: ns });
  assert.equal(old.status, 0, old.stdout + old.stderr);
  assert.equal(
    old.stdout,
    "~~~ :kubernetes: Cleanup\n" +
      `kubernetes plugin: deleted Job ${ns}/plugin-job (older than a day)\n`,
  );
  assert.deepEqual(await objectNames(ns, "jobs"), ["other-job"]);
});

Deno.test("an old Job cleanup may not delete is reported per Job, and cleanup still exits 0", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await createJob(ns, "old-a", PLUGIN);
  await createJob(ns, "old-b", PLUGIN);
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}`;
  await cluster.api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "cleaner" },
  });
  await cluster.api.post(`${rbac}/roles`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "list-jobs" },
    rules: [{ apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch"] }],
  });
  await cluster.api.post(`${rbac}/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "cleaner-lists-jobs" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "list-jobs" },
    subjects: [{ kind: "ServiceAccount", name: "cleaner", namespace: ns }],
  });
  const { status: { token } } = await cluster.api.post<{ status: { token: string } }>(
    `/api/v1/namespaces/${ns}/serviceaccounts/cleaner/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 600 },
    },
  );
  const kubeconfigPath = await Deno.makeTempFile({ prefix: "kbk-cleaner-", suffix: ".yaml" });
  try {
    const admin = await readKubeconfig(cluster.kubeconfigPath);
    await Deno.writeTextFile(kubeconfigPath, renderKubeconfig({ ...admin, token }));
    await untilListAllowed(`/apis/batch/v1/namespaces/${ns}/jobs`, token);

    const result = await cleanupAhead(25 * HOUR_MS, { namespace: ns, kubeconfigPath });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const denied = (name: string) =>
      `kubernetes plugin: could not delete old Job ${name}: jobs.batch "${name}" is forbidden: ` +
      `User "system:serviceaccount:${ns}:cleaner" cannot delete resource "jobs" in API group ` +
      `"batch" in the namespace "${ns}"\n`;
    assert.equal(result.stdout, "~~~ :kubernetes: Cleanup\n" + denied("old-a") + denied("old-b"));
    assert.deepEqual(await objectNames(ns, "jobs"), ["old-a", "old-b"]);
  } finally {
    await Deno.remove(kubeconfigPath);
  }
});

/**
 * Waits until the authorizer applies a new RoleBinding to `token`. Nothing about that can
 * be watched from outside, so this asks again, briefly, until the answer changes.
 */
async function untilListAllowed(path: string, token: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const allowed = await testCluster().api.request("GET", path, {
      headers: { authorization: `Bearer ${token}` },
    }).then(() => true, () => false);
    if (allowed) return;
    if (Date.now() > deadline) throw new Error(`${path} stayed forbidden for 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
