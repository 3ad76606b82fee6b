/**
 * The follow's store and its judge. `Observer` keeps what the informers reported (the Job,
 * its pods, the Job's and the pods' Events) with the times conditions were first seen on the
 * follower's clock; `Decision` judges it on every change and when a grace period or timeout
 * runs out, until the verdict is final or following fails.
 *
 * @module
 */
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import {
  JOB_FAILED_KEY,
  JOB_SUCCEEDED_KEY,
  jobOutcome,
  judge,
  type Limits,
  mountKey,
  type Observation,
  type Verdict,
} from "../verdict.ts";
import { GraceClocks } from "./clocks.ts";
import type { Change } from "./informer.ts";
import { created } from "./pod_logs.ts";

/** A final verdict. */
export type FinalVerdict = Extract<Verdict, { done: true }>;

function terminal(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** Keeps the latest of each Event, by uid. */
function keepEvent(events: CoreV1Event[], event: CoreV1Event): void {
  const at = events.findIndex((each) => each.metadata?.uid === event.metadata?.uid);
  if (at === -1) events.push(event);
  else events[at] = event;
}

/** What the informers have reported of one Job. */
export class Observer {
  readonly #uid: string;
  readonly #submittedAt: number;
  readonly #stepContainer: string;
  #stepMayHaveRun = false;
  #job: V1Job | undefined;
  #jobDeleted = false;
  readonly #pods = new Map<string, V1Pod>();
  readonly #deletedPods = new Set<string>();
  readonly #jobEvents: CoreV1Event[] = [];
  readonly #podEvents: CoreV1Event[] = [];
  readonly #firstSeen = new Map<string, number>();
  readonly #clocks = new GraceClocks(this.#firstSeen);

  /** The Job with `uid`, created at `submittedAt` (ms, local clock), whose step runs in `stepContainer`. */
  constructor(uid: string, { submittedAt, stepContainer }: {
    submittedAt: number;
    stepContainer: string;
  }) {
    this.#uid = uid;
    this.#submittedAt = submittedAt;
    this.#stepContainer = stepContainer;
  }

  /** Whether the step container was seen started or printed a line: its command may have run. */
  get stepMayHaveRun(): boolean {
    return this.#stepMayHaveRun;
  }

  /** The step container printed a line (its log follower says so). */
  stepPrinted(): void {
    this.#stepMayHaveRun = true;
  }

  /** A change to the Job (another Job of the same name is not ours). */
  jobChanged({ type, object }: Change<V1Job>): void {
    if (object.metadata?.uid !== this.#uid) return;
    if (type === "DELETED") this.#jobDeleted = true;
    else this.#job = object;
    this.#firstSee(JOB_FAILED_KEY, jobOutcome(this.#job) === "failed");
    this.#firstSee(JOB_SUCCEEDED_KEY, jobOutcome(this.#job) === "succeeded");
  }

  /** A change to one of the Job's pods; true when the pod is new. */
  podChanged(pod: V1Pod, deleted: boolean): boolean {
    const name = pod.metadata!.name!;
    const now = Date.now();
    const isNew = !this.#firstSeen.has(`pod:${name}`);
    this.#firstSee(`pod:${name}`, true, now);
    for (
      const status of [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
      ]
    ) {
      this.#clocks.observeStatus(name, status, now);
    }
    const step = pod.status?.containerStatuses?.find((s) => s.name === this.#stepContainer);
    if (step?.state?.running || step?.state?.terminated || step?.lastState?.terminated) {
      this.#stepMayHaveRun = true;
    }
    this.#firstSee(
      `deleted:${name}`,
      deleted || pod.metadata?.deletionTimestamp !== undefined,
      now,
    );
    if (deleted && !terminal(pod)) this.#deletedPods.add(name);
    this.#pods.set(name, pod);
    return isNew;
  }

  /** One of the Job's Events, new or repeated. */
  jobEventChanged(event: CoreV1Event): void {
    keepEvent(this.#jobEvents, event);
  }

  /** One of a pod's Events, new or repeated: a volume that cannot be mounted is told only there. */
  podEventChanged(pod: string, event: CoreV1Event): void {
    keepEvent(this.#podEvents, event);
    const now = Date.now();
    this.#clocks.observeEvent(pod, event, now);
    this.#firstSee(mountKey(pod), event.reason === "FailedMount", now);
  }

  /** Everything seen so far, the pods oldest first. */
  observation(now: number): Observation {
    return {
      job: this.#job,
      jobDeleted: this.#jobDeleted,
      pods: [...this.#pods.values()].sort((a, b) => created(a) - created(b)),
      deletedPods: this.#deletedPods,
      jobEvents: this.#jobEvents,
      podEvents: this.#podEvents,
      firstSeen: this.#firstSeen,
      now,
      submittedAt: this.#submittedAt,
      stepMayHaveRun: this.#stepMayHaveRun,
    };
  }

  #firstSee(key: string, condition: boolean, now = Date.now()): void {
    if (condition && !this.#firstSeen.has(key)) this.#firstSeen.set(key, now);
  }
}

/** Judges an observer's observation until the verdict is final, or following fails. */
export class Decision {
  /** The final verdict, or why the step could not be followed. */
  readonly verdict: Promise<FinalVerdict>;
  readonly #observer: Observer;
  readonly #limits: Limits;
  #decided = false;
  #recheck: ReturnType<typeof setTimeout> | undefined;
  #settle!: (verdict: FinalVerdict) => void;
  #fail!: (error: Error) => void;

  /** Judges `observer`'s observation against `limits`. */
  constructor(observer: Observer, limits: Limits) {
    this.#observer = observer;
    this.#limits = limits;
    this.verdict = new Promise((resolve, reject) => {
      this.#settle = resolve;
      this.#fail = reject;
    });
  }

  /** Whether the verdict is known (or following failed). */
  get decided(): boolean {
    return this.#decided;
  }

  /** Judges now; a wait with a deadline judges again when it runs out. */
  evaluate = (): void => {
    if (this.#decided) return;
    const result = judge(this.#observer.observation(Date.now()), this.#limits);
    clearTimeout(this.#recheck);
    if (result.done) {
      this.#decided = true;
      this.#settle(result);
    } else if (result.recheckAt !== undefined) {
      this.#recheck = setTimeout(this.evaluate, Math.max(0, result.recheckAt - Date.now()) + 5);
    }
  };

  /** Following failed: the step has no verdict. */
  fail(error: Error): void {
    if (this.#decided) return;
    this.#decided = true;
    this.#fail(error);
  }

  /** Stops judging again. */
  stop(): void {
    clearTimeout(this.#recheck);
  }
}
