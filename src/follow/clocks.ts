/**
 * The grace clocks of a follow, on the follower's own clock: when a container began waiting
 * on a failing image pull or a container it cannot create. A clock follows the current state,
 * never history: it starts when its condition appears and is forgotten when the condition
 * clears or changes kind, so a brief `ErrImagePull` long ago does not count against a pull
 * that fails now. A pull the kubelet is trying again (its `Pulling` Event came after the last
 * failure) holds the clock: a slow, healthy pull after a failed one is not a failure.
 *
 * The verdict reads the clocks from `firstSeen` by {@link waitingKey} and {@link pullingKey}.
 *
 * @module
 */
import type { CoreV1Event, V1ContainerStatus } from "@kubernetes/client-node";

/** What a waiting container is held up by, as far as a grace clock is concerned. */
export type WaitingKind = "pull" | "create";

const KINDS: readonly WaitingKind[] = ["pull", "create"];

/** Waiting reasons of an image that could not be pulled, which may yet heal. */
export const PULL_FAILURES: ReadonlySet<string> = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ImageInspectError",
]);

/** Waiting reasons of a container that could not be created, which may yet heal. */
export const CREATE_FAILURES: ReadonlySet<string> = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "PreStartHookError",
  "RunContainerError",
]);

/** The kind of a failing waiting reason: `ErrImagePull` is "pull", `CreateContainerError` "create". */
export function waitingKind(reason: string | undefined): WaitingKind | undefined {
  if (reason === undefined) return undefined;
  if (PULL_FAILURES.has(reason)) return "pull";
  if (CREATE_FAILURES.has(reason)) return "create";
  return undefined;
}

/** The `firstSeen` key of the time a container began waiting for `kind`. */
export function waitingKey(pod: string, container: string, kind: WaitingKind): string {
  return `${pod}/${container}/${kind}`;
}

/** The `firstSeen` key of the time the kubelet began pulling again after a failed pull. */
export function pullingKey(pod: string, container: string): string {
  return `${pod}/${container}/pulling`;
}

/** The container an Event is about, from its `fieldPath` (`spec.containers{step}`). */
function eventContainer(event: CoreV1Event): string | undefined {
  return /\{(.+)\}$/.exec(event.involvedObject?.fieldPath ?? "")?.[1];
}

/** Keeps the grace clocks of one follow in `firstSeen`. */
export class GraceClocks {
  readonly #firstSeen: Map<string, number>;
  /** The waiting reason each container (`pod/container`) was last seen with. */
  readonly #reasons = new Map<string, string | undefined>();

  /** Clocks kept in `firstSeen`, the observation's map. */
  constructor(firstSeen: Map<string, number>) {
    this.#firstSeen = firstSeen;
  }

  /** A container's status, as a pod's watch reported it at `now`. */
  observeStatus(pod: string, status: V1ContainerStatus, now: number): void {
    const reason = status.state?.waiting?.reason;
    const kind = waitingKind(reason);
    for (const each of KINDS) {
      const key = waitingKey(pod, status.name, each);
      if (each !== kind) this.#firstSeen.delete(key);
      else if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, now);
    }
    const id = `${pod}/${status.name}`;
    const before = this.#reasons.get(id);
    this.#reasons.set(id, reason);
    // A pull that failed again (the reason turned to ErrImagePull or ImagePullBackOff) or
    // that is no longer awaited ends the attempt in progress.
    if (kind !== "pull" || reason !== before) this.#firstSeen.delete(pullingKey(pod, status.name));
  }

  /** One of a pod's Events, as its watch reported it (new, or repeated with a higher count). */
  observeEvent(pod: string, event: CoreV1Event, now: number): void {
    const container = eventContainer(event);
    if (!container) return;
    const waiting = this.#firstSeen.has(waitingKey(pod, container, "pull"));
    if (event.reason === "Pulling" && waiting) {
      this.#firstSeen.set(pullingKey(pod, container), now);
    } else if (event.reason === "Failed" || event.reason === "BackOff") {
      this.#firstSeen.delete(pullingKey(pod, container));
    }
  }
}
