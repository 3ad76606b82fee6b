/**
 * How long the Kubernetes API has been out of reach while a step is followed. Every list or
 * watch of the follow's informers reports its outcome; once none has succeeded for a while
 * the build log says so (whatever the debug setting), and once none has succeeded for the
 * whole budget (`api-unreachable-timeout`) following gives up, so that a hook never hangs
 * silently on an API that does not come back. Timers only: nothing is requested here.
 *
 * @module
 */
import type { Contact } from "./informer.ts";

/** What to do as the API stays out of reach. */
export interface ReachabilityOptions {
  /** How long without a successful list or watch before following gives up; 0 for never. */
  budgetMs: number;
  /** Tells the build log that the API is out of reach, or back. */
  note: (message: string) => void;
  /** Gives up following: the budget is spent. */
  exhausted: (error: Error) => void;
  /** The clock (ms). */
  now?: () => number;
}

/** The longest the API may be out of reach before the build log hears of it. */
export const UNREACHABLE_NOTE_MS = 30_000;

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** Watches the outcomes of a follow's requests for an API that stays out of reach. */
export class Reachability {
  readonly #options: ReachabilityOptions;
  readonly #now: () => number;
  /** When a list or watch last succeeded (the start of following counts as one). */
  #lastSuccess: number;
  /** The last error since then; undefined while the API answers. */
  #error: Error | undefined;
  #noted = false;
  #timers: ReturnType<typeof setTimeout>[] = [];

  /** Starts counting from now. */
  constructor(options: ReachabilityOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#lastSuccess = this.#now();
  }

  /** Hears the outcome of one list or watch. */
  contact(contact: Contact): void {
    if (contact.ok) this.#answered();
    else this.#failed(contact.error);
  }

  /** Stops the timers (following is over). */
  stop(): void {
    this.#timers.forEach(clearTimeout);
    this.#timers = [];
  }

  #answered(): void {
    const now = this.#now();
    if (this.#noted) {
      this.#options.note(
        `the Kubernetes API answers again, after ${seconds(now - this.#lastSuccess)} out of reach`,
      );
    }
    this.stop();
    this.#lastSuccess = now;
    this.#error = undefined;
    this.#noted = false;
  }

  #failed(error: Error): void {
    const first = this.#error === undefined;
    this.#error = error;
    if (!first) return;
    const { budgetMs } = this.#options;
    const noteAfter = budgetMs > 0
      ? Math.min(UNREACHABLE_NOTE_MS, budgetMs / 2)
      : UNREACHABLE_NOTE_MS;
    this.#at(this.#lastSuccess + noteAfter, () => this.#tell());
    if (budgetMs > 0) this.#at(this.#lastSuccess + budgetMs, () => this.#giveUp());
  }

  #at(time: number, action: () => void): void {
    this.#timers.push(setTimeout(action, Math.max(0, time - this.#now())));
  }

  #tell(): void {
    this.#noted = true;
    const { budgetMs } = this.#options;
    this.#options.note(
      `the Kubernetes API has not answered for ${
        seconds(this.#now() - this.#lastSuccess)
      } (${this.#error?.message}); still trying${
        budgetMs > 0 ? `, for up to ${seconds(budgetMs)} in all` : ""
      }`,
    );
  }

  #giveUp(): void {
    this.stop();
    this.#options.exhausted(
      new Error(
        `the Kubernetes API has not answered for ${
          seconds(this.#now() - this.#lastSuccess)
        } (api-unreachable-timeout; last error: ${this.#error?.message})`,
      ),
    );
  }
}
