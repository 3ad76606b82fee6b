/**
 * API requests counted by the API server itself: `apiserver_request_total` from its
 * `/metrics`, read before and after a measurement. The metric has no client label, so the
 * requests of everything else on the control plane (node agent, controller-manager, the API
 * server's own loopback clients) are removed by subtracting their rate, measured over idle
 * windows of the same length with no step running.
 *
 * Two views: all requests, and all but watches. A watch is counted when it ends, and the
 * control plane's own few dozen watches end at random times (every 5 to 10 minutes each,
 * all at once some minutes after start-up), which makes the first view noisy over long
 * windows; the rest of the background is steady.
 *
 * @module
 */

import type { ApiClient } from "../tests/cluster/api_client.ts";

/** Request counts by a short description: `GET batch/jobs 200`, `GET nonresource:api 200`. */
export type RequestCounts = Map<string, number>;

const METRIC = "apiserver_request_total";

/** Scrapes of `/metrics` are the harness's own requests; they never count. */
const SCRAPE_SUBRESOURCE = "/metrics";

/** The short description of one series of the metric, from its labels. */
export function requestKey(labels: Record<string, string>): string {
  const verb = labels.verb ?? "?";
  const code = labels.code ?? "?";
  if (!labels.resource) return `${verb} nonresource:${labels.subresource ?? ""} ${code}`;
  const group = labels.group || "core";
  const subresource = labels.subresource ? `/${labels.subresource}` : "";
  return `${verb} ${group}/${labels.resource}${subresource} ${code}`;
}

/** Parses the labels of a Prometheus series: `{a="1",b="x\"y"}` (without the braces). */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /(\w+)="((?:[^"\\]|\\.)*)"/g;
  for (const match of text.matchAll(pattern)) {
    labels[match[1]] = match[2].replace(
      /\\(.)/g,
      (_, escaped: string) => escaped === "n" ? "\n" : escaped,
    );
  }
  return labels;
}

/**
 * The `apiserver_request_total` series of a `/metrics` text, summed by `requestKey`,
 * leaving out the scrapes of `/metrics` themselves.
 */
export function parseRequestCounts(text: string): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${METRIC}{`)) continue;
    const close = line.lastIndexOf("}");
    const labels = parseLabels(line.slice(METRIC.length + 1, close));
    if (labels.subresource === SCRAPE_SUBRESOURCE) continue;
    const value = Number(line.slice(close + 1).trim().split(" ")[0]);
    if (!Number.isFinite(value)) continue;
    const key = requestKey(labels);
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

/** What was counted between two scrapes: `after - before`, positive entries only. */
export function difference(after: RequestCounts, before: RequestCounts): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) counts.set(key, delta);
  }
  return counts;
}

/** The sum of all counts. */
export function totalRequests(counts: RequestCounts): number {
  let total = 0;
  for (const value of counts.values()) total += value;
  return total;
}

/** Requests counted over a window of time. */
export interface RequestWindow {
  /** Requests counted between the two scrapes. */
  requests: number;
  /** Seconds between the two scrapes. */
  seconds: number;
}

/** Which requests to count: all, or all but watches. */
export type RequestView = "all" | "without-watches";

/** Whether a `requestKey` is a watch. */
export function isWatch(key: string): boolean {
  return key.startsWith("WATCH ");
}

/** The requests of a window's counts (`requestKey` → count) in a view. */
export function requestsInView(counts: Record<string, number>, view: RequestView): number {
  let total = 0;
  for (const [key, value] of Object.entries(counts)) {
    if (view === "all" || !isWatch(key)) total += value;
  }
  return total;
}

/** A window with its requests by `requestKey`. */
export interface CountedWindow {
  /** Seconds between the two scrapes. */
  seconds: number;
  /** Requests by `requestKey`. */
  counts: Record<string, number>;
}

/**
 * A step window's requests in a view, less the background expected over its length at the
 * rate of the idle windows (in the same view).
 */
export function netRequestsInView(
  window: CountedWindow,
  idle: readonly CountedWindow[],
  view: RequestView,
): number {
  const asWindow = (counted: CountedWindow): RequestWindow => ({
    requests: requestsInView(counted.counts, view),
    seconds: counted.seconds,
  });
  return netRequests(asWindow(window), backgroundRate(idle.map(asWindow)));
}

/** The background rate (requests per second) over idle windows: all requests over all time. */
export function backgroundRate(idle: readonly RequestWindow[]): number {
  const seconds = idle.reduce((sum, window) => sum + window.seconds, 0);
  if (seconds === 0) throw new Error("no idle window was measured");
  return idle.reduce((sum, window) => sum + window.requests, 0) / seconds;
}

/** A window's requests less the background expected over its length. */
export function netRequests(window: RequestWindow, rate: number): number {
  return window.requests - rate * window.seconds;
}

/** Reads the API server's request counts (an admin client; `/metrics` needs one). */
export async function scrapeRequestCounts(api: ApiClient): Promise<RequestCounts> {
  const response = await api.stream("/metrics", {});
  return parseRequestCounts(await response.text());
}

/** A sorted plain object of counts, for JSON. */
export function countsObject(counts: RequestCounts): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}
