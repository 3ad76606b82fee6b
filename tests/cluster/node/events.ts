/**
 * core/v1 Events as the kubelet and the scheduler record them: one Event per distinct
 * (object, field, type, reason, message), its `count` and `lastTimestamp` bumped when it
 * happens again. Recording never blocks the caller; events are written in order.
 *
 * @module
 */

import { type ApiClient, isApiError } from "../api_client.ts";
import type { Event, Pod } from "../kube_types.ts";
import { nowNanos } from "./timestamps.ts";
import { apiTime } from "./timestamps.ts";

/** What an event is about. */
export interface InvolvedObject {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** The object reference of a pod, optionally of one of its containers. */
export function podReference(
  pod: Pod,
  container?: { name: string; init: boolean },
): InvolvedObject {
  return {
    kind: "Pod",
    apiVersion: "v1",
    namespace: pod.metadata.namespace,
    name: pod.metadata.name ?? "",
    uid: pod.metadata.uid,
    resourceVersion: pod.metadata.resourceVersion,
    ...(container
      ? { fieldPath: `spec.${container.init ? "initContainers" : "containers"}{${container.name}}` }
      : {}),
  };
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
}

/** Records events for one component (`kubelet`, `default-scheduler`). */
export class EventRecorder {
  #client: ApiClient;
  #component: string;
  #host: string;
  #log: (message: string) => void;
  #queue: Promise<void> = Promise.resolve();
  #recorded = new Map<string, Recorded>();

  /** A recorder reporting as `component` on `host`. */
  constructor(client: ApiClient, component: string, host: string, log: (message: string) => void) {
    this.#client = client;
    this.#component = component;
    this.#host = host;
    this.#log = log;
  }

  /** Records an event (asynchronously, in order). */
  record(
    object: InvolvedObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void {
    this.#queue = this.#queue.then(() => this.#write(object, type, reason, message)).catch((
      error,
    ) => this.#log(`event ${reason} for ${object.namespace}/${object.name}: ${error.message}`));
  }

  /** Resolves when every recorded event has been written. */
  flush(): Promise<void> {
    return this.#queue;
  }

  /** Forgets the aggregation state of an object (it was deleted). */
  forget(uid: string): void {
    for (const key of [...this.#recorded.keys()]) {
      if (key.startsWith(`${uid}\u0000`)) this.#recorded.delete(key);
    }
  }

  async #write(
    object: InvolvedObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ) {
    const namespace = object.namespace ?? "default";
    const key = [object.uid ?? object.name, object.fieldPath ?? "", type, reason, message].join(
      "\u0000",
    );
    const now = apiTime();
    const seen = this.#recorded.get(key);
    if (seen) {
      try {
        await this.#client.patch(`/api/v1/namespaces/${namespace}/events/${seen.name}`, {
          count: seen.count + 1,
          lastTimestamp: now,
        });
        seen.count++;
        return;
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
      }
    }
    const name = `${object.name}.${nowNanos().toString(16)}`;
    const event: Event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: object,
      reason,
      message,
      type,
      source: { component: this.#component, host: this.#host },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.#component,
      reportingInstance: this.#host,
    };
    await this.#client.post(`/api/v1/namespaces/${namespace}/events`, event);
    this.#recorded.set(key, { name, namespace, count: 1 });
  }
}
