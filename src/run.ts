/**
 * The `command` hook: configuration → manifest → submit → follow → verdict → cleanup, and on
 * SIGTERM, SIGINT, SIGHUP or SIGQUIT (the agent's cancel), delete the Job and exit within
 * seconds.
 *
 * @module
 */
import type { V1Job, V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import { type Configuration, loadStepConfiguration } from "./config/mod.ts";
import { EXIT, UserError } from "./exit_status.ts";
import { sleep } from "./follow/informer.ts";
import { type FinalVerdict, followJob } from "./follow/mod.ts";
import { Api, ApiError } from "./kube/client.ts";
import { loadClusterAccess, resolveNamespace } from "./kube/kubeconfig.ts";
import { requireSidecarSupport } from "./kube/server_version.ts";
import { paths, submit } from "./kube/submit.ts";
import { deleteSelected, sweepOldJobs } from "./cleanup.ts";
import { type Placement, renderStep } from "./render/mod.ts";
import { JOB_ID_LABEL, labelValue } from "./render/names.ts";
import { STEP_CONTAINER } from "./render/job.ts";
import { annotate, annotationMarkdown, diagnosisText, Output } from "./report.ts";

type Env = Record<string, string | undefined>;

/** The signals the agent's bootstrap traps and forwards as its `cancel-signal`. */
const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 } as const;
type SignalName = keyof typeof SIGNALS;

/**
 * How long a cancel waits for the answer to a Job's creation, before looking for the Job by
 * its label. With the deletion, within the agent's signal grace (9 s by default), which the
 * pre-exit hook shares.
 */
const CANCEL_SUBMIT_WAIT_MS = 3000;
/** How long the deletions on cancel may take in all. */
const CANCEL_BUDGET_MS = 2500;

/**
 * Where the hook shim asks to be told that the pre-exit hook has nothing left to do: a file
 * this program writes the job's id into (see `hooks/lib/program.bash`).
 */
export const CLEANED_UP_FILE_VARIABLE = "BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP_FILE";

/**
 * The agent's own pod, whose placement `use-agent-node-affinity` copies, in `namespace`
 * unless POD_NAMESPACE says otherwise.
 */
async function agentPlacement(api: Api, env: Env, namespace: string): Promise<Placement> {
  let name = env.POD_NAME || env.HOSTNAME;
  if (!name) {
    try {
      name = Deno.readTextFileSync("/etc/hostname").trim();
    } catch {
      name = undefined;
    }
  }
  const podNamespace = env.POD_NAMESPACE || namespace;
  if (!name) {
    throw new UserError(
      "option `use-agent-node-affinity`: cannot tell the agent's pod name (set POD_NAME, as the agent chart does)",
    );
  }
  try {
    const pod = await api.request<V1Pod>("GET", paths.pod(podNamespace, name), {
      timeoutMs: 30_000,
    });
    return {
      affinity: pod.spec?.affinity,
      tolerations: pod.spec?.tolerations,
      nodeSelector: pod.spec?.nodeSelector,
    };
  } catch (error) {
    throw new UserError(
      `option \`use-agent-node-affinity\`: cannot read the agent's pod ${podNamespace}/${name}: ${
        (error as Error).message
      }`,
    );
  }
}

/**
 * The agent's own pod as the owner of the step's Job, when the agent runs in a pod of the
 * Job's namespace (POD_NAME and POD_NAMESPACE, as the agent chart sets them): the garbage
 * collector then deletes the Job, and so its pod, when the agent's pod is deleted. An owner
 * cannot be in another namespace (the collector would take it for absent and delete the
 * Job at once), so a Job elsewhere has none and is left to cleanup. A pod that cannot be
 * read is said so, and the step runs without an owner.
 */
async function agentOwner(
  api: Api,
  env: Env,
  namespace: string,
  output: Output,
): Promise<V1OwnerReference | undefined> {
  const name = env.POD_NAME;
  const podNamespace = env.POD_NAMESPACE;
  if (!name || podNamespace !== namespace) return undefined;
  try {
    const pod = await api.request<V1Pod>("GET", paths.pod(podNamespace, name), {
      timeoutMs: 30_000,
    });
    // Not blockOwnerDeletion, which would need `update` on pods/finalizers.
    return { apiVersion: "v1", kind: "Pod", name, uid: pod.metadata!.uid! };
  } catch (error) {
    await output.note(
      `warning: cannot read the agent's pod ${podNamespace}/${name}, so the Job does not go ` +
        `with it: ${(error as Error).message}`,
    );
    return undefined;
  }
}

/** Deletes the Job (Background propagation, so its pod goes too) and its Secret. */
async function deleteStep(
  api: Api,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<string[]> {
  const body = { propagationPolicy: "Background" };
  const results = await Promise.allSettled([
    api.request("DELETE", paths.job(namespace, name), { body, timeoutMs }),
    api.request("DELETE", paths.secret(namespace, name), { body, timeoutMs }),
  ]);
  return results.flatMap((result, index) =>
    result.status === "rejected" &&
      !(result.reason instanceof ApiError && result.reason.status === 404)
      ? [`${index === 0 ? "Job" : "Secret"}: ${(result.reason as Error).message}`]
      : []
  );
}

/**
 * Deletes the step, trying again within `budgetMs` while the API does not answer (a step
 * that could not be followed because the API was out of reach may be deletable soon after).
 */
async function deleteStepWithin(
  api: Api,
  namespace: string,
  name: string,
  budgetMs: number,
): Promise<string[]> {
  const until = Date.now() + budgetMs;
  for (;;) {
    const problems = await deleteStep(api, namespace, name, Math.max(1000, until - Date.now()));
    if (!problems.length || Date.now() + 500 >= until) return problems;
    await sleep(500);
  }
}

/** What became of a Job's creation: the Job created, or the error that ended the attempts. */
type Submission = { job: V1Job } | { error: Error };

/**
 * On cancel, the step's Job whose creation has not answered (or failed, perhaps after the
 * server acted): deleted if it exists by now, found by its `buildkite/job-id` label; the
 * rest of the cancel's message says which.
 */
async function deleteUnconfirmed(
  api: Api,
  output: Output,
  step: { namespace: string; name: string; jobId: string; preExitCleanup: boolean },
  outcome: { error: Error } | undefined,
): Promise<string> {
  const { namespace, name } = step;
  const deleted = await deleteSelected(api, output, {
    namespace,
    labelSelector: `${JOB_ID_LABEL}=${labelValue(step.jobId)}`,
    timeoutMs: CANCEL_BUDGET_MS,
    naming: { kind: "", why: "" },
  });
  await api.request("DELETE", paths.secret(namespace, name), {
    body: { propagationPolicy: "Background" },
    timeoutMs: CANCEL_BUDGET_MS,
  }).catch(() => undefined);
  const asked = outcome
    ? outcome.error.message
    : `creating Job ${namespace}/${name} had no answer within ${CANCEL_SUBMIT_WAIT_MS / 1000} s`;
  if (deleted.length) return `: ${asked}; deleted it, found by its ${JOB_ID_LABEL} label`;
  const later = step.preExitCleanup
    ? "the pre-exit hook looks for it again"
    : "should it be created after all, nothing here deletes it (`job-cleanup-after-finished-via-plugin` is off)";
  return `: ${asked}, and no Job of this step exists now; ${later}`;
}

/** Where a step runs, and how it is told. */
interface StepContext {
  env: Env;
  config: Configuration;
  /** The cluster access's own namespace (a pod's), for `use-agent-node-affinity`. */
  accessNamespace?: string;
  namespace: string;
  api: Api;
  output: Output;
  /** Aborts on the agent's cancel. */
  cancel: AbortSignal;
  debug?: (message: string) => void;
}

/**
 * One run of the `command` hook: the attempts at the step (a Job each, a new one only for a
 * pod lost before its command ran), and the cancel, which finds the Job being run.
 */
class StepRun {
  readonly #context: StepContext;
  /** The current Job's name, once its creation begins. */
  #name: string | undefined;
  /** The current Job's creation; undefined before it, and between attempts. */
  #submission: Promise<Submission> | undefined;
  /** The old Jobs' sweep, once the first Job is created, when the pre-exit hook may skip it. */
  #sweep: ReturnType<typeof sweepOldJobs> | undefined;

  /** A run in `context`. */
  constructor(context: StepContext) {
    this.#context = context;
  }

  /** Runs the step to its verdict; returns the hook's exit status. */
  async steps(): Promise<number> {
    const { api, config, env, namespace, output } = this.#context;
    // Only the options that need a minimum version ask for it.
    if (config.options.sidecars?.length) await requireSidecarSupport(api);
    const placement = config.options["use-agent-node-affinity"]
      // In a pod, the cluster access's namespace is the pod's own (its service account's).
      ? await agentPlacement(api, env, this.#context.accessNamespace ?? namespace)
      : undefined;
    const owner = await agentOwner(api, env, namespace, output);
    for (let attempt = 0;; attempt++) {
      const verdict = await this.#runJob(attempt, placement, owner);
      if (await this.#replaceLostJob(verdict, attempt)) continue;
      this.#context.debug?.(`verdict: exit status ${verdict.exitStatus}`);
      await this.#report(verdict);
      const cleanedUp = await this.#cleanUp(verdict.stuck);
      this.#context.debug?.(`cleaned up${cleanedUp ? "" : " (not all of it)"}`);
      if (cleanedUp) await this.#tellShimCleanedUp();
      return verdict.exitStatus;
    }
  }

  /** Renders, creates and follows the `attempt`th Job of the step, to its verdict. */
  async #runJob(
    attempt: number,
    placement: Placement | undefined,
    owner: V1OwnerReference | undefined,
  ): Promise<FinalVerdict & { job: V1Job }> {
    const { api, cancel, config, namespace, output } = this.#context;
    const rendered = await renderStep(config, { placement, owner, attempt, namespace });
    if (config.options["print-resulting-job-spec"] && attempt === 0) {
      const shown = await renderStep(config, { placement, owner, redact: true });
      await output.group("~~~", "Job spec");
      const { renderedYaml } = await import("./render/yaml.ts");
      await output.write(renderedYaml(shown));
    }
    const jobName = rendered.job.metadata!.name!;
    await output.group("~~~", `Creating Job ${namespace}/${jobName}`);
    // A cancel before this point creates nothing; after it, the cancel finds `submission`.
    if (cancel.aborted) throw cancel.reason;
    this.#name = jobName;
    const submittedAt = Date.now();
    // A cancel stops the retries, not a request in flight: its answer tells the cancel, which
    // waits for it, whether there is a Job to delete.
    const creating = submit(api, namespace, rendered, {
      onRetry: (message) => output.note(message),
      signal: cancel,
    });
    this.#submission = creating.then((job) => ({ job }), (error) => ({ error }));
    const job = await creating;
    if (this.#cleansUpForPreExit() && config.options["jobs-cleanup-via-plugin"]) {
      this.#sweep ??= sweepOldJobs(api, { namespace });
    }
    const verdict = await followJob({
      api,
      namespace,
      job,
      output,
      limits: {
        pendingTimeoutMs: config.options["pending-timeout"] * 1000,
        imagePullGraceMs: config.options["image-pull-grace"] * 1000,
        podCreationGraceMs: config.options["pod-creation-grace"] * 1000,
        stepContainer: STEP_CONTAINER,
      },
      unreachableBudgetMs: config.options["api-unreachable-timeout"] * 1000,
      submittedAt,
      signal: cancel,
      debug: this.#context.debug,
    }).catch(async (error) => {
      // A step that cannot be followed must not be left running.
      if (!cancel.aborted) {
        const [problems, sweep] = await Promise.all([
          deleteStepWithin(api, namespace, jobName, 10_000),
          this.#sweep,
        ]);
        await output.note(
          problems.length
            ? `could not delete Job ${namespace}/${jobName}: ${problems.join("; ")}`
            : `deleted Job ${namespace}/${jobName}`,
        );
        for (const line of sweep?.lines ?? []) await output.write(line);
      }
      throw error;
    });
    return { ...verdict, job };
  }

  /**
   * Whether this hook does the pre-exit hook's cleanup after the verdict: with
   * `job-cleanup-after-finished-via-plugin`, as the pre-exit hook would. Without it, the
   * pre-exit hook still starts and does what its options say, as before.
   */
  #cleansUpForPreExit(): boolean {
    return this.#context.config.options["job-cleanup-after-finished-via-plugin"];
  }

  /**
   * After the verdict: deletes the Job and its Secret together, a stuck Job always (it would
   * keep its pod waiting or running), a finished one when this hook cleans up for the
   * pre-exit hook, and waits for the old Jobs' sweep. Returns whether the pre-exit hook has
   * nothing left to do. A finished Job's deletion is said only when it fails, and then left
   * to the pre-exit hook; the pre-exit hook says that this one cleaned up.
   */
  async #cleanUp(stuck: boolean): Promise<boolean> {
    const { api, namespace, output } = this.#context;
    const name = this.#name!;
    const cleansUp = this.#cleansUpForPreExit();
    const [problems, sweep] = await Promise.all([
      stuck || cleansUp ? deleteStep(api, namespace, name, 10_000) : undefined,
      this.#sweep,
    ]);
    if (problems?.length) {
      const later = cleansUp ? "; the pre-exit hook tries again" : "";
      await output.note(
        `could not delete Job ${namespace}/${name}: ${problems.join("; ")}${later}`,
      );
    } else if (stuck) {
      await output.note(`deleted Job ${namespace}/${name}`);
    }
    for (const line of sweep?.lines ?? []) await output.write(line);
    const swept = sweep?.swept ?? !this.#context.config.options["jobs-cleanup-via-plugin"];
    return cleansUp && problems?.length === 0 && swept;
  }

  /**
   * Tells the hook shim that the pre-exit hook has nothing left to do, by writing the job's id
   * into the file it named, so that the pre-exit hook starts no program. Not being able to
   * costs only that start.
   */
  async #tellShimCleanedUp(): Promise<void> {
    const { config, debug, env } = this.#context;
    const path = env[CLEANED_UP_FILE_VARIABLE];
    if (!path) return;
    try {
      await Deno.writeTextFile(path, config.step.jobId);
    } catch (error) {
      debug?.(`cannot tell the hook shim the step is cleaned up: ${(error as Error).message}`);
    }
  }

  /** Writes the verdict's summary and diagnosis (with the recent Events), and annotates the build. */
  async #report(verdict: FinalVerdict & { job: V1Job }): Promise<void> {
    const { api, config, env, namespace, output } = this.#context;
    if (!verdict.diagnosis) {
      if (verdict.summary) await output.group("~~~", verdict.summary);
      return;
    }
    const eventsOf = (uid: string | undefined) =>
      api.request<{ items: [] }>("GET", paths.events(namespace), {
        query: { fieldSelector: `involvedObject.uid=${uid}` },
        timeoutMs: 10_000,
      }).then((list) => list.items).catch(() => []);
    const podEvents = verdict.pod ? await eventsOf(verdict.pod.metadata!.uid) : [];
    const jobEvents = await eventsOf(verdict.job.metadata!.uid);
    const text = diagnosisText(verdict.diagnosis, [...podEvents, ...jobEvents], Date.now());
    await output.group("+++", verdict.summary);
    await output.write(`${text}\n`);
    await annotate(
      annotationMarkdown(verdict.summary, text),
      `kubernetes-${config.step.jobId}`,
      env,
      output,
    );
  }

  /**
   * A pod lost before the step's command started, with `lost-pod-retries` left: says so,
   * deletes its Job (and Secret) and returns true, so that a new Job runs the step. A Job
   * that cannot be deleted is not replaced: two could run the command.
   */
  async #replaceLostJob(verdict: FinalVerdict, attempt: number): Promise<boolean> {
    const { api, config, namespace, output } = this.#context;
    const retries = config.options["lost-pod-retries"];
    if (!verdict.lostBeforeCommand || attempt >= retries || !this.#name) return false;
    await output.group(
      "~~~",
      `${verdict.summary.replace(/\.$/, "")}; the step's command had not started, so a new Job ` +
        `runs the step (lost-pod-retries: ${attempt + 1} of ${retries})`,
    );
    const problems = await deleteStepWithin(api, namespace, this.#name, 10_000);
    if (problems.length === 0) {
      // Until the new Job is being created, a cancel has nothing to delete.
      this.#submission = undefined;
      return true;
    }
    await output.note(
      `could not delete Job ${namespace}/${this.#name}, so it is not replaced: ${
        problems.join("; ")
      }`,
    );
    return false;
  }

  /**
   * The agent's cancel by `signal`: deletes the Job being run (waiting a moment for its
   * creation's answer; by its label when none comes), says what became of it, and returns
   * the hook's status, 128 + the signal.
   */
  async cancelled(signal: SignalName): Promise<number> {
    const { output } = this.#context;
    let message = `Cancelled (${signal})`;
    if (!this.#submission && this.#name) message += `: no Job created`;
    if (this.#submission && this.#name) {
      message += await this.#deleteOnCancel(this.#submission, this.#name);
    }
    await output.group("+++", message);
    return 128 + SIGNALS[signal];
  }

  async #deleteOnCancel(submission: Promise<Submission>, name: string): Promise<string> {
    const { api, config, namespace, output } = this.#context;
    const outcome = await Promise.race([
      submission,
      sleep(CANCEL_SUBMIT_WAIT_MS).then(() => undefined),
    ]);
    // The request timeout bounds waiting for answers, not connecting or credentials: the
    // agent's SIGKILL follows within seconds, so the whole deletion is bounded too.
    const deletion = outcome && "job" in outcome
      ? deleteStep(api, namespace, name, CANCEL_BUDGET_MS).then((problems) =>
        problems.length
          ? `: could not delete Job ${namespace}/${name}: ${problems.join("; ")}`
          : `: deleted Job ${namespace}/${name}`
      )
      : deleteUnconfirmed(api, output, {
        namespace,
        name,
        jobId: config.step.jobId,
        preExitCleanup: config.options["job-cleanup-after-finished-via-plugin"],
      }, outcome).catch((error) =>
        `: could not look for Job ${namespace}/${name}: ${(error as Error).message}`
      );
    return await Promise.race([
      deletion,
      sleep(CANCEL_BUDGET_MS + 500).then(() =>
        `: could not delete Job ${namespace}/${name}: no answer within ${
          (CANCEL_BUDGET_MS + 500) / 1000
        } s`
      ),
    ]);
  }
}

/** Runs the step described by a hook's environment; returns the hook's exit status. */
export async function run(env: Env): Promise<number> {
  const output = new Output();
  try {
    return await runStep(env, output);
  } finally {
    // The build log's last lines, still queued, are written before the hook exits.
    await output.flushed();
  }
}

/** Runs the step, its lines to `output`. */
async function runStep(env: Env, output: Output): Promise<number> {
  const cancel = new AbortController();
  let received: SignalName | undefined;
  const listeners = (Object.keys(SIGNALS) as SignalName[]).map((signal) => {
    const listener = () => {
      received ??= signal;
      cancel.abort(new Error(`cancelled by ${signal}`));
    };
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });

  const config = await loadStepConfiguration(env);
  for (const warning of config.warnings) await output.note(`warning: ${warning}`);
  const access = await loadClusterAccess(env);
  const namespace = resolveNamespace(config.options.namespace, access);
  const api = new Api(access);
  // On standard error, which the agent shows too, so tests reading the log are not disturbed.
  const debug = env.BUILDKITE_KUBERNETES_PLUGIN_DEBUG === "true"
    ? (message: string) =>
      console.error(`kubernetes plugin: debug: ${new Date().toISOString()} ${message}`)
    : undefined;
  const stepRun = new StepRun({
    env,
    config,
    accessNamespace: access.namespace,
    namespace,
    api,
    output,
    cancel: cancel.signal,
    debug,
  });
  const cancelled = new Promise<number>((resolve) => {
    cancel.signal.addEventListener(
      "abort",
      () => resolve(stepRun.cancelled(received ?? "SIGTERM")),
      { once: true },
    );
  });

  try {
    return await Promise.race([
      stepRun.steps().catch((error) => {
        if (cancel.signal.aborted) return cancelled;
        throw error;
      }),
      cancelled,
    ]);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${(error as Error).message}`, EXIT.internal.code);
  } finally {
    listeners.forEach((remove) => remove());
    debug?.(`${api.requests} API requests`);
    api.close();
  }
}
