/**
 * Preloaded into the program (`deno run --preload`) to move its clock `KBK_CLOCK_AHEAD_MS`
 * ahead: the API server sets every creationTimestamp itself, so a Job "older than a day" is
 * one seen by a hook whose clock is a day later. Dates given explicitly are left alone.
 *
 * @module
 */

const ahead = Number(Deno.env.get("KBK_CLOCK_AHEAD_MS") ?? "0");
const RealDate = Date;

class AheadDate extends RealDate {
  constructor(...args: unknown[]) {
    // Any of Date's forms passes through; the cast only satisfies the checker.
    super(...(args.length === 0 ? [RealDate.now() + ahead] : args) as [number]);
  }

  static override now(): number {
    return RealDate.now() + ahead;
  }
}

globalThis.Date = AheadDate as DateConstructor;
