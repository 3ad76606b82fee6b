/**
 * The scheduler of the one-node cluster: binds each pending pod that fits the node
 * (`pods/binding`, event `Scheduled`), and leaves a pod that does not fit Pending with
 * `PodScheduled=False`, reason `Unschedulable`, kube-scheduler's message and a
 * `FailedScheduling` event. Pods are evaluated again when they, the node, or the pods
 * using the node's resources change — never on a timer.
 *
 * @module
 */

import { type ApiClient, isApiError } from "../api_client.ts";
import { objectKey } from "../informer.ts";
import type { Node, Pod } from "../kube_types.ts";
import { type EventRecorder, podReference } from "./events.ts";
import { isTerminal } from "./pod_status.ts";
import { scheduleVerdict } from "./scheduling.ts";
import { apiTime } from "./timestamps.ts";

/** What the scheduler reads and writes. */
export interface SchedulerOptions {
  client: ApiClient;
  nodeName: string;
  events: EventRecorder;
  /** The node, once it is registered. */
  node(): Node | undefined;
  /** Pods bound to the node that are not finished. */
  podsOnNode(): Pod[];
  log: (message: string) => void;
}

/** Schedules pods that have no node yet. */
export class Scheduler {
  #options: SchedulerOptions;
  #pending = new Map<string, Pod>();
  #queue = new Set<string>();
  #draining?: Promise<void>;
  #verdicts = new Map<string, string>();
  #assumed = new Map<string, Pod>();

  /** A scheduler for `options.nodeName`. */
  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  /** An unscheduled pod was added or changed (or, with `deleted`, went away or got a node). */
  podChanged(pod: Pod, deleted: boolean): void {
    const key = objectKey(pod);
    if (deleted) {
      this.#pending.delete(key);
      this.#verdicts.delete(pod.metadata.uid ?? "");
      return;
    }
    this.#pending.set(key, pod);
    this.#enqueue([key]);
  }

  /** The node or the pods on it changed: evaluate every waiting pod again. */
  reevaluate(): void {
    const bound = new Set(this.#options.podsOnNode().map((pod) => pod.metadata.uid));
    for (const uid of [...this.#assumed.keys()]) if (bound.has(uid)) this.#assumed.delete(uid);
    this.#enqueue([...this.#pending.keys()]);
  }

  /** Resolves when the queue is empty. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  #enqueue(keys: string[]): void {
    for (const key of keys) this.#queue.add(key);
    if (this.#draining || this.#queue.size === 0) return;
    // Cleared (and restarted for keys queued meanwhile) only after the drain has settled.
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      this.#enqueue([]);
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.size > 0) {
      const [key] = this.#queue;
      this.#queue.delete(key);
      const pod = this.#pending.get(key);
      if (pod) {
        await this.#schedule(pod).catch((error) =>
          this.#options.log(`scheduling ${key}: ${(error as Error).message}`)
        );
      }
    }
  }

  async #schedule(pod: Pod): Promise<void> {
    const node = this.#options.node();
    const { namespace, name, uid } = pod.metadata;
    if (
      !node || pod.spec.nodeName || pod.metadata.deletionTimestamp ||
      isTerminal(pod.status?.phase) ||
      (pod.spec.schedulerName ?? "default-scheduler") !== "default-scheduler"
    ) {
      return;
    }
    const onNode = [...this.#options.podsOnNode(), ...this.#assumed.values()]
      .filter((other) => other.metadata.uid !== uid);
    const verdict = scheduleVerdict(pod, node, onNode);
    if (verdict.fits) {
      try {
        await this.#options.client.post(`/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name, namespace, uid },
          target: { apiVersion: "v1", kind: "Node", name: this.#options.nodeName },
        });
      } catch (error) {
        // Bound meanwhile, or deleted: the informers will tell.
        if (isApiError(error, 409) || isApiError(error, 404)) return;
        throw error;
      }
      this.#assumed.set(uid ?? "", pod);
      this.#verdicts.delete(uid ?? "");
      this.#options.events.record(
        podReference(pod),
        "Normal",
        "Scheduled",
        `Successfully assigned ${namespace}/${name} to ${this.#options.nodeName}`,
      );
      return;
    }
    const current = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled");
    if (
      this.#verdicts.get(uid ?? "") === verdict.message &&
      current?.status === "False" && current.message === verdict.message
    ) {
      return;
    }
    this.#verdicts.set(uid ?? "", verdict.message);
    this.#options.events.record(podReference(pod), "Warning", "FailedScheduling", verdict.message);
    try {
      await this.#options.client.patch(
        `/api/v1/namespaces/${namespace}/pods/${name}/status`,
        {
          metadata: { uid },
          status: {
            conditions: [{
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              message: verdict.message,
              lastProbeTime: null,
              lastTransitionTime: current?.status === "False" && current.lastTransitionTime
                ? current.lastTransitionTime
                : apiTime(),
            }],
          },
        },
        "application/strategic-merge-patch+json",
      );
    } catch (error) {
      if (!isApiError(error, 404) && !isApiError(error, 409)) throw error;
    }
  }
}
