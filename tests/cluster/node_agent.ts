/**
 * The node agent: a kubelet (and the scheduler) for the local control plane, run as its own
 * process by the control plane manager:
 *
 *     deno run --allow-all tests/cluster/node_agent.ts STATE_DIR/node-agent.json
 *
 * It registers a Ready Node, binds pending pods that fit it, runs bound pods' containers as
 * host processes (see `node/container_runtime.ts`), reports their status like a kubelet,
 * and serves their logs to the API server. Everything it does is driven by watches on pods,
 * the node, Secrets and ConfigMaps (list, then watch; relist on 410).
 *
 * @module
 */

import { ApiClient, isApiError } from "./api_client.ts";
import { killCgroup } from "./cgroups.ts";
import { Informer, objectKey, sleep } from "./informer.ts";
import type { ConfigMap, Node, Pod, Secret } from "./kube_types.ts";
import { readKubeconfig } from "./kubeconfig.ts";
import { type NodeAgentConfig, readNodeAgentConfig } from "./node/config.ts";
import type { ConfigSource } from "./node/container_env.ts";
import { EventRecorder } from "./node/events.ts";
import { readImageCatalogue } from "./node/image_catalogue.ts";
import { ImageManager } from "./node/image_pulls.ts";
import { serveContainerLogs } from "./node/log_server.ts";
import { hostCapacity, nodeObject, registerNode } from "./node/node_registration.ts";
import { PodWorker } from "./node/pod_worker.ts";
import { isTerminal } from "./node/pod_status.ts";
import { Scheduler } from "./node/scheduler.ts";
import { createSelfSignedCert } from "./pki.ts";

/** Runs the node agent until `signal` aborts; resolves when it has stopped. */
export async function runNodeAgent(config: NodeAgentConfig, signal: AbortSignal): Promise<void> {
  const log = (message: string) => console.error(`${new Date().toISOString()} ${message}`);
  const client = new ApiClient(await readKubeconfig(config.kubeconfig));
  await Deno.mkdir(`${config.stateDir}/pki`, { recursive: true });
  const cert = `${config.stateDir}/pki/kubelet.crt`;
  const key = `${config.stateDir}/pki/kubelet.key`;
  await createSelfSignedCert(cert, key, config.nodeName);
  const capacity = config.capacity ?? hostCapacity();
  const images = new ImageManager(await readImageCatalogue(config.imageCatalogue));
  const kubeletEvents = new EventRecorder(client, "kubelet", config.nodeName, log);
  const schedulerEvents = new EventRecorder(client, "default-scheduler", config.nodeName, log);

  const secrets: Informer<Secret> = new Informer<Secret>(client, {
    path: "/api/v1/secrets",
    signal,
    log,
    onChange: ({ object }) => configChanged(object.metadata.namespace),
  });
  const configMaps: Informer<ConfigMap> = new Informer<ConfigMap>(client, {
    path: "/api/v1/configmaps",
    signal,
    log,
    onChange: ({ object }) => configChanged(object.metadata.namespace),
  });
  const workers = new Map<string, PodWorker>();
  const configChanged = (namespace: string | undefined) => {
    for (const worker of workers.values()) {
      if (worker.namespace === namespace) worker.configChanged();
    }
  };
  const configSource = (namespace: string): ConfigSource => ({
    secret: (name) => cachedOrFetched(client, secrets, namespace, "secrets", name),
    configMap: (name) => cachedOrFetched(client, configMaps, namespace, "configmaps", name),
  });

  await registerNode(client, nodeObject(config, capacity));
  log(`node ${config.nodeName} registered`);
  const nodeInformer: Informer<Node> = new Informer<Node>(client, {
    path: "/api/v1/nodes",
    fieldSelector: `metadata.name=${config.nodeName}`,
    signal,
    log,
    onChange: () => scheduler.reevaluate(),
  });

  const podsOnNode = (): Pod[] =>
    [...boundPods.store.values()].filter((pod) => !isTerminal(pod.status?.phase));
  const scheduler = new Scheduler({
    client,
    nodeName: config.nodeName,
    events: schedulerEvents,
    node: () => nodeInformer.store.get(config.nodeName),
    podsOnNode,
    log,
  });
  const context = {
    client,
    config,
    images,
    events: kubeletEvents,
    configSource,
    allocatable: capacity,
    log,
  };
  const boundPods: Informer<Pod> = new Informer<Pod>(client, {
    path: "/api/v1/pods",
    fieldSelector: `spec.nodeName=${config.nodeName}`,
    signal,
    log,
    onChange: ({ type, object, old }) => {
      const uid = object.metadata.uid ?? "";
      const worker = workers.get(uid);
      if (type === "DELETED") {
        if (worker) {
          worker.removed();
          void worker.dispose().finally(() => workers.delete(uid));
        }
        scheduler.reevaluate();
        return;
      }
      if (worker) worker.update(object);
      else workers.set(uid, new PodWorker(context, object));
      if (isTerminal(object.status?.phase) && !isTerminal(old?.status?.phase)) {
        scheduler.reevaluate();
      }
    },
  });
  const pendingPods = new Informer<Pod>(client, {
    path: "/api/v1/pods",
    fieldSelector: "spec.nodeName=,status.phase!=Succeeded,status.phase!=Failed",
    signal,
    log,
    onChange: ({ type, object }) => scheduler.podChanged(object, type === "DELETED"),
  });

  const server = serveContainerLogs({
    port: config.port,
    cert: await Deno.readTextFile(cert),
    key: await Deno.readTextFile(key),
    signal,
    lookup: (namespace, name) => {
      const pod = boundPods.store.get(`${namespace}/${name}`);
      return pod ? workers.get(pod.metadata.uid ?? "") : undefined;
    },
  });
  await Promise.all([secrets.synced, configMaps.synced, nodeInformer.synced, boundPods.synced]);
  await pendingPods.synced;
  log(`node agent ready; serving logs on https://127.0.0.1:${config.port}`);

  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  // The node is going away with the cluster: start no more containers, and take the running
  // ones down with it.
  for (const worker of workers.values()) worker.removed();
  await killCgroup(config.cgroup).catch((error) => log(`stopping containers: ${error.message}`));
  // The log server finishes only when the API server closes its kept-alive connections;
  // the process is exiting, so it gets a moment, not a say.
  await Promise.race([
    Promise.allSettled([
      server.finished,
      secrets.done,
      configMaps.done,
      nodeInformer.done,
      boundPods.done,
      pendingPods.done,
    ]),
    sleep(2_000),
  ]);
  client.close();
}

async function cachedOrFetched<T extends Secret | ConfigMap>(
  client: ApiClient,
  informer: Informer<T>,
  namespace: string,
  resource: "secrets" | "configmaps",
  name: string,
): Promise<T | undefined> {
  const cached = informer.store.get(objectKey({ metadata: { namespace, name } }));
  if (cached) return cached;
  // The watch may not have delivered an object created a moment ago; ask before saying
  // "not found".
  try {
    return await client.get<T>(`/api/v1/namespaces/${namespace}/${resource}/${name}`);
  } catch (error) {
    if (isApiError(error, 404)) return undefined;
    throw error;
  }
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (!path) {
    console.error("usage: node_agent.ts NODE_AGENT_CONFIG.json");
    Deno.exit(2);
  }
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  try {
    await runNodeAgent(await readNodeAgentConfig(path), stop.signal);
    Deno.exit(0);
  } catch (error) {
    console.error(`node agent failed: ${(error as Error).stack}`);
    Deno.exit(1);
  }
}
