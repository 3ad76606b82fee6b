/**
 * `jobs-cleanup-via-plugin`: the pre-exit hook also deletes this plugin's Jobs (by its
 * `buildkite/plugin` label) created more than a day ago that have ended (finished, or past
 * their own `activeDeadlineSeconds`), and keeps younger ones, other Jobs, and another step's
 * Job still running; a Job it may not delete is reported, one line per Job, and never fails
 * the build.
 *
 * The API server sets creationTimestamp itself, so the Jobs cannot be made old; instead the
 * hook's clock runs ahead (see `clock_ahead.ts`) by just under and just over a day.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readKubeconfig, renderKubeconfig } from "../cluster/kubeconfig.ts";
import { freshNamespace, testCluster, waitForMatch } from "../cluster/testing.ts";
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

/** How a test Job runs: not at all (suspended), to its end, or on (until deleted). */
interface JobRun {
  /** `true` or `false` runs to an end; a `sleep` runs on. */
  command?: string;
  activeDeadlineSeconds?: number;
}

/**
 * A Job with the given labels, suspended (it creates no pod) unless `run` says what its pod
 * runs; once it has started, its status says so (`startTime`), and a command that ends has
 * ended it (`Complete` or `Failed`).
 */
async function createJob(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  run?: JobRun,
) {
  const path = `/apis/batch/v1/namespaces/${namespace}/jobs`;
  await testCluster().api.post(path, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels },
    spec: {
      suspend: run === undefined,
      backoffLimit: 0,
      activeDeadlineSeconds: run?.activeDeadlineSeconds,
      template: {
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 0,
          containers: [{
            name: "step",
            image: "alpine:3",
            command: ["/bin/sh", "-c", run?.command ?? "true"],
          }],
        },
      },
    },
  });
  if (run === undefined) return;
  const ends = run.command === "true" || run.command === "false";
  await waitForMatch<{ metadata: { name?: string }; status?: Record<string, unknown> }>(
    testCluster().api,
    path,
    { fieldSelector: `metadata.name=${name}` },
    (job) =>
      ends
        ? (job.status?.conditions as { type: string }[] | undefined)?.some((condition) =>
          ["Complete", "Failed"].includes(condition.type)
        ) ?? false
        : job.status?.startTime !== undefined,
    { timeoutMs: 60_000 },
  );
}

const PLUGIN = { "buildkite/plugin": "kubernetes" };

Deno.test("cleanup deletes this plugin's Jobs older than a day, keeps young and other Jobs", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await createJob(ns, "plugin-job", PLUGIN, { command: "true" });
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
      `kubernetes plugin: deleted Job ${ns}/plugin-job (older than a day, and ended)\n`,
  );
  assert.deepEqual(await objectNames(ns, "jobs"), ["other-job"]);
});

Deno.test("a day-old Job of another step still running survives cleanup; finished, failed and past-deadline ones go", async () => {
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  // Ends at once when its Job is deleted (a shell as PID 1 ignores SIGTERM otherwise).
  const runsOn = "trap 'exit 143' TERM; sleep 600 & wait";
  await createJob(ns, "running", PLUGIN, { command: runsOn });
  await createJob(ns, "running-deadline-in-two-days", PLUGIN, {
    command: runsOn,
    activeDeadlineSeconds: 2 * 24 * 3600,
  });
  await createJob(ns, "running-past-its-deadline", PLUGIN, {
    command: runsOn,
    activeDeadlineSeconds: 3600,
  });
  await createJob(ns, "complete", PLUGIN, { command: "true" });
  await createJob(ns, "failed", PLUGIN, { command: "false" });
  await createJob(ns, "suspended", PLUGIN);

  const result = await cleanupAhead(25 * HOUR_MS, { namespace: ns });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const deleted = (name: string) =>
    `kubernetes plugin: deleted Job ${ns}/${name} (older than a day, and ended)\n`;
  assert.equal(
    result.stdout,
    "~~~ :kubernetes: Cleanup\n" +
      ["complete", "failed", "running-past-its-deadline"].map(deleted).join(""),
  );
  assert.deepEqual(await objectNames(ns, "jobs"), [
    "running",
    "running-deadline-in-two-days",
    "suspended",
  ]);
});

Deno.test("an old Job cleanup may not delete is reported per Job, and cleanup still exits 0", async () => {
  const cluster = testCluster();
  await using namespace = await freshNamespace();
  const ns = namespace.name;
  await createJob(ns, "old-a", PLUGIN, { command: "true" });
  await createJob(ns, "old-b", PLUGIN, { command: "true" });
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
