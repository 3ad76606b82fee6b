/**
 * The query of the kubelet's `GET /containerLogs/{namespace}/{pod}/{container}`, decoded and
 * validated as the kubelet does (`PodLogOptions`), with `sinceSeconds` and `sinceTime`
 * folded into one lower bound.
 *
 * @module
 */

import { formatNanos, parseRfc3339 } from "./timestamps.ts";

/** What a log request asks for. */
export interface LogQuery {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  /** Only lines stamped at or after this fixed-width timestamp (see `formatNanos`). */
  since?: string;
  tailLines?: number;
  limitBytes?: number;
  stream: "All" | "Stdout" | "Stderr";
}

/** A decoded query, or the status and message the kubelet answers for a bad one. */
export type LogQueryResult = { query: LogQuery } | { status: number; message: string };

// The API's query decoding: absent, "0" and "false" are false; anything else is true.
function flag(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  return value !== null && value !== "0" && value.toLowerCase() !== "false";
}

function integer(params: URLSearchParams, name: string): number | undefined | null {
  const value = params.get(name);
  if (value === null) return undefined;
  return /^-?\d+$/.test(value) ? Number(value) : null;
}

const UNDECODABLE = { status: 400, message: '{"message": "Unable to decode query."}' };
const INVALID = { status: 422, message: '{"message": "Invalid request."}' };

/** Decodes a log query; `nowNanos` anchors `sinceSeconds`. */
export function parseLogQuery(params: URLSearchParams, nowNanos: bigint): LogQueryResult {
  const tail = params.get("tail");
  const tailLines = tail === "all"
    ? undefined
    : integer(params, tail !== null ? "tail" : "tailLines");
  const limitBytes = integer(params, "limitBytes");
  const sinceSeconds = integer(params, "sinceSeconds");
  const sinceTimeText = params.get("sinceTime");
  const sinceTime = sinceTimeText === null ? undefined : parseRfc3339(sinceTimeText);
  if (tailLines === null || limitBytes === null || sinceSeconds === null) return UNDECODABLE;
  if (sinceTimeText !== null && sinceTime === undefined) return UNDECODABLE;
  const stream = params.get("stream") ?? "All";
  if (stream !== "All" && stream !== "Stdout" && stream !== "Stderr") {
    return { status: 400, message: `invalid stream type "${stream}"` };
  }
  if (
    (tailLines !== undefined && tailLines < 0) ||
    (limitBytes !== undefined && limitBytes < 1) ||
    (sinceSeconds !== undefined && sinceSeconds < 1) ||
    (sinceSeconds !== undefined && sinceTime !== undefined)
  ) {
    return INVALID;
  }
  let since: bigint | undefined;
  if (sinceSeconds !== undefined) since = nowNanos - BigInt(sinceSeconds) * 1_000_000_000n;
  if (sinceTime !== undefined && (since === undefined || sinceTime > since)) since = sinceTime;
  return {
    query: {
      follow: flag(params, "follow"),
      previous: flag(params, "previous"),
      timestamps: flag(params, "timestamps"),
      since: since === undefined ? undefined : formatNanos(since),
      tailLines,
      limitBytes,
      stream,
    },
  };
}
