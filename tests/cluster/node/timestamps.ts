/**
 * Time as the kubelet writes it: API timestamps in RFC 3339 with whole seconds, log lines
 * stamped in RFC 3339 with nanoseconds at a fixed width (so that text order is time order).
 *
 * @module
 */

/** The current time in nanoseconds since the epoch (microsecond resolution). */
export function nowNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** `2026-01-02T03:04:05.123456789Z`: RFC 3339 in UTC with exactly nine fraction digits. */
export function formatNanos(nanos: bigint): string {
  const seconds = nanos / 1_000_000_000n;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, "0");
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** A metav1.Time: RFC 3339 in UTC with whole seconds. */
export function apiTime(date: Date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const RFC3339 =
  /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses RFC 3339 (any fraction, any offset) to nanoseconds; undefined when invalid. */
export function parseRfc3339(text: string): bigint | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const offset = match[4].toUpperCase() === "Z" ? "Z" : match[4];
  const millis = Date.parse(`${match[1]}T${match[2]}${offset}`);
  if (Number.isNaN(millis)) return undefined;
  return BigInt(millis) * 1_000_000n + BigInt((match[3] ?? "").padEnd(9, "0"));
}
