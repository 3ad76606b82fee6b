import assert from "node:assert/strict";
import { ApiClient } from "../api_client.ts";
import type { Pod } from "../kube_types.ts";
import { EventRecorder, podReference } from "./events.ts";

Deno.test("a repeated event is counted on the first one, a new one is created", async () => {
  const requests: { method: string; path: string; body: Record<string, unknown> }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      requests.push({
        method: request.method,
        path: new URL(request.url).pathname,
        body: await request.json(),
      });
      return Response.json({});
    },
  );
  const client = new ApiClient({
    server: `http://127.0.0.1:${server.addr.port}`,
    token: "t",
    caCert: "",
  });
  const events = new EventRecorder(
    client,
    "kubelet",
    "kbk-node",
    (message) => assert.fail(message),
  );
  const pod: Pod = { metadata: { name: "p", namespace: "ns", uid: "u" }, spec: { containers: [] } };
  const container = podReference(pod, { name: "step", init: false });
  events.record(container, "Normal", "BackOff", 'Back-off pulling image "x"');
  events.record(container, "Normal", "BackOff", 'Back-off pulling image "x"');
  events.record(podReference(pod), "Warning", "FailedMount", "m");
  await events.flush();
  client.close();
  await server.shutdown();

  assert.deepEqual(requests.map(({ method, path }) => `${method} ${path}`), [
    "POST /api/v1/namespaces/ns/events",
    `PATCH /api/v1/namespaces/ns/events/${(requests[0].body.metadata as { name: string }).name}`,
    "POST /api/v1/namespaces/ns/events",
  ]);
  const first = requests[0].body;
  assert.match((first.metadata as { name: string }).name, /^p\.[0-9a-f]+$/);
  assert.deepEqual(first.involvedObject, {
    kind: "Pod",
    apiVersion: "v1",
    namespace: "ns",
    name: "p",
    uid: "u",
    fieldPath: "spec.containers{step}",
  });
  assert.deepEqual(first.source, { component: "kubelet", host: "kbk-node" });
  assert.equal(requests[1].body.count, 2);
  assert.equal((requests[2].body.involvedObject as { fieldPath?: string }).fieldPath, undefined);
});
