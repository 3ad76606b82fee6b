/**
 * Writes a pod's status the way the kubelet's status manager does: only the latest status
 * matters (intermediate ones are skipped when writes fall behind), writes are serialized,
 * carry the pod's UID as a precondition, and are retried until they land or the pod is gone.
 *
 * @module
 */

import { type ApiClient, isApiError } from "../api_client.ts";
import type { PodStatus } from "../kube_types.ts";
import { sleep } from "../informer.ts";

/** The status writer of one pod. */
export class StatusWriter {
  #client: ApiClient;
  #path: string;
  #uid: string;
  #log: (message: string) => void;
  #pending?: PodStatus;
  #writing?: Promise<void>;
  #gone = false;
  #last = "";

  /** A writer for the pod at `namespace/name` with `uid`. */
  constructor(
    client: ApiClient,
    pod: { namespace: string; name: string; uid: string },
    log: (message: string) => void,
  ) {
    this.#client = client;
    this.#path = `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/status`;
    this.#uid = pod.uid;
    this.#log = log;
  }

  /** Whether the pod was found gone (deleted, or replaced by one with another UID). */
  get gone(): boolean {
    return this.#gone;
  }

  /** Queues `status` to be written (replacing any status not yet written). */
  set(status: PodStatus): void {
    if (this.#gone) return;
    const text = JSON.stringify(status);
    if (text === this.#last && !this.#pending) return;
    this.#last = text;
    this.#pending = status;
    this.#start();
  }

  #start(): void {
    if (this.#writing || !this.#pending || this.#gone) return;
    // Cleared (and restarted for a status queued meanwhile) only after the drain settled.
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      this.#start();
    });
  }

  /** Resolves when everything queued so far has been written (or the pod is gone). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    let delayMs = 100;
    while (this.#pending && !this.#gone) {
      const status = this.#pending;
      this.#pending = undefined;
      try {
        await this.#client.patch(this.#path, { metadata: { uid: this.#uid }, status });
        delayMs = 100;
      } catch (error) {
        if (isApiError(error, 404) || isApiError(error, 409)) {
          this.#gone = true;
          break;
        }
        this.#log(`writing status ${this.#path}: ${(error as Error).message}; retrying`);
        this.#pending ??= status;
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 5_000);
      }
    }
  }
}
