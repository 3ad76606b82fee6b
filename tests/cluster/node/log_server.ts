/**
 * The kubelet's `GET /containerLogs/{namespace}/{pod}/{container}` over HTTPS, which the API
 * server proxies `pods/log` to. Answers, status codes and error texts are the kubelet's: a
 * container that has not started yet gets 400 `container "c" in pod "p" is waiting to
 * start: PodInitializing`, which the API server passes on as a BadRequest.
 *
 * @module
 */

import type { ContainerStatus } from "../kube_types.ts";
import { type ContainerLog, readContainerLog } from "./container_log.ts";
import { parseLogQuery } from "./log_query.ts";
import { nowNanos } from "./timestamps.ts";

/** A pod as the log endpoint sees it. */
export interface LogPod {
  /** The container's status and its logs (one per attempt, oldest first). */
  logSource(container: string): { status: ContainerStatus; logs: ContainerLog[] } | undefined;
}

/** Options of `serveContainerLogs`. */
export interface LogServerOptions {
  port: number;
  cert: string;
  key: string;
  /** Finds a pod on this node. */
  lookup(namespace: string, name: string): LogPod | undefined;
  signal: AbortSignal;
}

/**
 * Which log answers a request, by the kubelet's rules (`validateContainerLogStatus`), or the
 * error it gives.
 */
export function selectLog(
  podName: string,
  containerName: string,
  status: ContainerStatus,
  logs: readonly ContainerLog[],
  previous: boolean,
): { log: ContainerLog } | { error: string } {
  const prefix = `container "${containerName}" in pod "${podName}"`;
  const latest = logs.at(-1);
  const { waiting, running, terminated } = status.state;
  const lastTerminated = status.lastState.terminated;
  if (previous) {
    // While it waits to restart, the last attempt is the previous one.
    const log = waiting ? latest : logs.at(-2);
    if (!lastTerminated || !log) {
      return { error: `previous terminated ${prefix} not found` };
    }
    return { log };
  }
  if ((running || terminated || lastTerminated) && latest) return { log: latest };
  if (terminated || lastTerminated) return { error: `${prefix} is terminated` };
  if (waiting) {
    switch (waiting.reason) {
      case "ErrImagePull":
        return { error: `${prefix} is waiting to start: image can't be pulled` };
      case "ImagePullBackOff":
        return { error: `${prefix} is waiting to start: trying and failing to pull image` };
      default:
        return { error: `${prefix} is waiting to start: ${waiting.reason}` };
    }
  }
  return { error: `${prefix} is waiting to start - no logs yet` };
}

/** Serves container logs until the signal aborts. */
export function serveContainerLogs(options: LogServerOptions): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: "127.0.0.1",
    port: options.port,
    cert: options.cert,
    key: options.key,
    signal: options.signal,
    onListen: () => {},
    onError: (error) => text(500, (error as Error).message),
  }, (request, info) => {
    // Followers stop when the client goes away or the response is done.
    const done = new AbortController();
    info.completed.catch(() => {}).finally(() => done.abort());
    return handle(request, AbortSignal.any([done.signal, request.signal]), options);
  });
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

async function handle(
  request: Request,
  signal: AbortSignal,
  options: LogServerOptions,
): Promise<Response> {
  const url = new URL(request.url);
  const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (request.method !== "GET" || !match) return text(404, "404 page not found");
  const [namespace, podName, containerName] = match.slice(1).map(decodeURIComponent);
  const decoded = parseLogQuery(url.searchParams, nowNanos());
  if ("status" in decoded) return text(decoded.status, decoded.message);
  const pod = options.lookup(namespace, podName);
  if (!pod) return text(404, `pod "${podName}" does not exist`);
  const source = pod.logSource(containerName);
  if (!source) return text(404, `container "${containerName}" not found in pod "${podName}"`);
  const selected = selectLog(
    podName,
    containerName,
    source.status,
    source.logs,
    decoded.query.previous,
  );
  if ("error" in selected) return text(400, selected.error);
  const body = await startedByFirstWrite(readContainerLog(selected.log, decoded.query, signal));
  return new Response(body, {
    status: 200,
    headers: { "content-type": "text/plain", "cache-control": "no-cache, private" },
  });
}

/**
 * The kubelet answers through a flushing writer and sends its headers with the first write:
 * a follower of a container that prints nothing gets no answer at all until it prints or
 * ends. This resolves at that moment, with a stream of everything.
 */
async function startedByFirstWrite(
  body: ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const reader = body.getReader();
  const first = await reader.read();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.done) controller.close();
      else controller.enqueue(first.value);
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
