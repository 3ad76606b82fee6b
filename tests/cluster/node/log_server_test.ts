import assert from "node:assert/strict";
import { createSelfSignedCert } from "../pki.ts";
import type { ContainerState, ContainerStatus } from "../kube_types.ts";
import { ContainerLog } from "./container_log.ts";
import { type LogServerOptions, selectLog, serveContainerLogs } from "./log_server.ts";

function status(state: ContainerState, lastState: ContainerState = {}): ContainerStatus {
  return { name: "c", state, lastState, ready: false, restartCount: 0, image: "", imageID: "" };
}

Deno.test("selectLog answers like the kubelet's validateContainerLogStatus", async () => {
  const dir = await Deno.makeTempDir();
  const [first, second] = [
    await ContainerLog.create(`${dir}/0`),
    await ContainerLog.create(`${dir}/1`),
  ];
  const exited: ContainerState = { terminated: { exitCode: 1, containerID: "kbk://1" } };
  const cases: [string, ContainerStatus, ContainerLog[], boolean, ContainerLog | string][] = [
    [
      "waiting",
      status({ waiting: { reason: "PodInitializing" } }),
      [],
      false,
      'container "c" in pod "p" is waiting to start: PodInitializing',
    ],
    [
      "pulling",
      status({ waiting: { reason: "ErrImagePull" } }),
      [],
      false,
      `container "c" in pod "p" is waiting to start: image can't be pulled`,
    ],
    [
      "back-off",
      status({ waiting: { reason: "ImagePullBackOff" } }),
      [],
      false,
      'container "c" in pod "p" is waiting to start: trying and failing to pull image',
    ],
    ["running", status({ running: {} }), [first], false, first],
    ["terminated", status(exited), [first], false, first],
    ["restarted", status({ running: {} }, exited), [first, second], false, second],
    ["previous", status({ running: {} }, exited), [first, second], true, first],
    [
      "crash loop",
      status({ waiting: { reason: "CrashLoopBackOff" } }, exited),
      [first],
      false,
      first,
    ],
    [
      "crash loop previous",
      status({ waiting: { reason: "CrashLoopBackOff" } }, exited),
      [first],
      true,
      first,
    ],
    [
      "no previous",
      status({ running: {} }),
      [first],
      true,
      'previous terminated container "c" in pod "p" not found',
    ],
  ];
  for (const [name, containerStatus, logs, previous, expected] of cases) {
    const selected = selectLog("p", "c", containerStatus, logs, previous);
    if (typeof expected === "string") assert.deepEqual(selected, { error: expected }, name);
    else assert.deepEqual(selected, { log: expected }, name);
  }
  await first.close();
  await second.close();
  await Deno.remove(dir, { recursive: true });
});

/** A log server over HTTPS in a scratch directory, and a client that trusts it. */
async function logServer(lookup: LogServerOptions["lookup"]) {
  const dir = await Deno.makeTempDir();
  await createSelfSignedCert(`${dir}/tls.crt`, `${dir}/tls.key`, "node");
  const cert = await Deno.readTextFile(`${dir}/tls.crt`);
  const stop = new AbortController();
  const server = serveContainerLogs({
    port: 0,
    cert,
    key: await Deno.readTextFile(`${dir}/tls.key`),
    signal: stop.signal,
    lookup,
  });
  const client = Deno.createHttpClient({ caCerts: [cert] });
  return {
    dir,
    fetch: (path: string) => fetch(`https://127.0.0.1:${server.addr.port}${path}`, { client }),
    async [Symbol.asyncDispose]() {
      client.close();
      stop.abort();
      await server.finished;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("the log endpoint serves over HTTPS with the kubelet's status codes", async () => {
  const logs: ContainerLog[] = [];
  await using server = await logServer((namespace, name) =>
    namespace === "ns" && name === "p"
      ? {
        logSource: (container) =>
          container === "c"
            ? { status: status({ terminated: { exitCode: 0 } }), logs }
            : container === "w"
            ? { status: status({ waiting: { reason: "PodInitializing" } }), logs: [] }
            : undefined,
      }
      : undefined
  );
  const log = await ContainerLog.create(`${server.dir}/0.log`);
  logs.push(log);
  await log.note("stdout", "hello");
  await log.close();
  const get = async (path: string) => {
    const response = await server.fetch(path);
    return [response.status, await response.text()];
  };
  assert.deepEqual(await get("/containerLogs/ns/p/c"), [200, "hello\n"]);
  assert.deepEqual(await get("/containerLogs/ns/p/w"), [
    400,
    'container "w" in pod "p" is waiting to start: PodInitializing',
  ]);
  assert.deepEqual(await get("/containerLogs/ns/p/x"), [
    404,
    'container "x" not found in pod "p"',
  ]);
  assert.deepEqual(await get("/containerLogs/ns/q/c"), [404, 'pod "q" does not exist']);
  assert.deepEqual(await get("/containerLogs/ns/p/c?tailLines=-1"), [
    422,
    '{"message": "Invalid request."}',
  ]);
});

Deno.test("a follower of a container that prints nothing gets no answer until it prints, as from a kubelet", async () => {
  const logs: ContainerLog[] = [];
  await using server = await logServer(() => ({
    logSource: () => ({ status: status({ running: { startedAt: "" } }), logs }),
  }));
  const log = await ContainerLog.create(`${server.dir}/0.log`);
  logs.push(log);
  try {
    let answered = false;
    const response = server.fetch("/containerLogs/ns/p/c?follow=true").then((response) => {
      answered = true;
      return response;
    });
    // Time for an answer that would come at once: the request is being served by now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answered, false, "answered before the container printed anything");
    await log.note("stdout", "first words");
    const reader = (await response).body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "first words\n");
    await reader.cancel();
  } finally {
    await log.close();
  }
});
