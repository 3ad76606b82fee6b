/**
 * The follower against a scripted API server that answers as Kubernetes 1.24 does: a Job's
 * pods carry only the labels `controller-uid` and `job-name` (the `batch.kubernetes.io/`
 * ones came in 1.27), and lists are filtered by their label and field selectors as the
 * server filters them.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { KubernetesObject, V1Job, V1Pod } from "@kubernetes/client-node";
import { followJob } from "../../../src/follow/mod.ts";
import { type Api, ApiError } from "../../../src/kube/client.ts";
import { paths } from "../../../src/kube/submit.ts";
import { Output } from "../../../src/report.ts";

const NAMESPACE = "ci";
const JOB_UID = "3f0c2a8e-5b1d-4c6e-9a7f-1e2d3c4b5a69";
const POD_UID = "8d7e6f50-4a3b-4c2d-8e1f-0a9b8c7d6e5f";
const NAME = "my-app-42-0190a1b2";

/** `key=value`, `key==value`, `key!=value`, `key` and `!key`, comma-separated, as a server reads them. */
function matchesLabels(selector: string, labels: Record<string, string>): boolean {
  return selector.split(",").every((term) => {
    const match = /^(!?)([\w./-]+)(?:(==|=|!=)([\w.-]*))?$/.exec(term.trim());
    if (!match) throw new ApiError(400, "BadRequest", `unable to parse requirement: ${term}`);
    const [, not, key, operator, value] = match;
    if (operator === undefined) return not ? !(key in labels) : key in labels;
    if (not) throw new ApiError(400, "BadRequest", `unable to parse requirement: ${term}`);
    return operator === "!=" ? labels[key] !== value : labels[key] === value;
  });
}

/** `a.b=value`, comma-separated, read along the object's fields. */
function matchesFields(selector: string, object: unknown): boolean {
  return selector.split(",").every((term) => {
    const [field, value] = term.split("=");
    const found = field.split(".").reduce(
      (at: unknown, key) => (at as Record<string, unknown> | undefined)?.[key],
      object,
    );
    return found === value;
  });
}

/** A 1.24 API server holding `objects` by collection, with one container log per pod. */
function kubernetes124(objects: Record<string, KubernetesObject[]>, logs: Record<string, string>) {
  return {
    request(
      method: string,
      path: string,
      options: { query?: Record<string, string | undefined> },
    ) {
      if (method !== "GET" || !(path in objects)) {
        return Promise.reject(new ApiError(404, "NotFound", `${method} ${path}`));
      }
      try {
        const { labelSelector, fieldSelector } = options.query ?? {};
        const items = objects[path].filter((object) =>
          (labelSelector === undefined ||
            matchesLabels(labelSelector, object.metadata?.labels ?? {})) &&
          (fieldSelector === undefined || matchesFields(fieldSelector, object))
        );
        return Promise.resolve({ metadata: { resourceVersion: "100" }, items });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    // Nothing changes: every watch waits, as a real one does, until the follower stops it.
    // deno-lint-ignore require-yield
    async *watch(_path: string, _query: unknown, options: { signal: AbortSignal }) {
      await new Promise((resolve) =>
        options.signal.addEventListener("abort", resolve, { once: true })
      );
    },
    stream(path: string) {
      const log = logs[path];
      if (log === undefined) return Promise.reject(new ApiError(404, "NotFound", path));
      return Promise.resolve({ status: 200, body: Readable.from([new TextEncoder().encode(log)]) });
    },
  } as unknown as Api;
}

Deno.test("on Kubernetes 1.24, whose pods lack the batch.kubernetes.io/ labels, the step's log and exit status are its pod's", async () => {
  const job: V1Job = {
    metadata: { name: NAME, namespace: NAMESPACE, uid: JOB_UID, labels: { "job-name": NAME } },
    spec: { backoffLimit: 0, template: { spec: { containers: [] } } },
    status: {
      failed: 1,
      conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }],
    },
  };
  // What the 1.24 Job controller adds to the pod template's labels: these two, no others.
  const pod: V1Pod = {
    metadata: {
      name: `${NAME}-x7k2p`,
      namespace: NAMESPACE,
      uid: POD_UID,
      creationTimestamp: new Date(),
      labels: { "job-name": NAME, "controller-uid": JOB_UID },
    },
    spec: { containers: [{ name: "step", image: "alpine:3" }] },
    status: {
      phase: "Failed",
      containerStatuses: [{
        name: "step",
        image: "alpine:3",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode: 3, reason: "Error" } },
      }],
    },
  };
  const api = kubernetes124({
    [paths.jobs(NAMESPACE)]: [job],
    [paths.pods(NAMESPACE)]: [pod],
    [paths.events(NAMESPACE)]: [],
  }, {
    [`${paths.pod(NAMESPACE, pod.metadata!.name!)}/log`]:
      "2026-11-27T10:00:00.000000001Z tests: 1 failed\n",
  });
  let log = "";
  const decoder = new TextDecoder();
  const verdict = await followJob({
    api,
    namespace: NAMESPACE,
    job,
    output: new Output((bytes) => {
      log += decoder.decode(bytes);
      return Promise.resolve();
    }),
    limits: {
      pendingTimeoutMs: 0,
      imagePullGraceMs: 60_000,
      podCreationGraceMs: 60_000,
      stepContainer: "step",
    },
    unreachableBudgetMs: 300_000,
    submittedAt: Date.now(),
    signal: new AbortController().signal,
  });
  assert.equal(verdict.exitStatus, 3, `${verdict.summary}\n${log}`);
  assert.match(log, /\+\+\+ :kubernetes: alpine:3\ntests: 1 failed\n/);
});
