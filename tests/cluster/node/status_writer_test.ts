import assert from "node:assert/strict";
import { ApiClient } from "../api_client.ts";
import { StatusWriter } from "./status_writer.ts";

Deno.test("the status writer sends the latest status with the UID precondition, and stops once the pod is gone", async () => {
  const bodies: unknown[] = [];
  let release!: () => void;
  const firstWrite = new Promise<void>((resolve) => release = resolve);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      assert.equal(request.method, "PATCH");
      assert.equal(new URL(request.url).pathname, "/api/v1/namespaces/ns/pods/p/status");
      assert.equal(request.headers.get("content-type"), "application/merge-patch+json");
      bodies.push(await request.json());
      if (bodies.length === 1) await firstWrite;
      if (bodies.length === 3) return Response.json({ code: 404 }, { status: 404 });
      return Response.json({});
    },
  );
  const client = new ApiClient({
    server: `http://127.0.0.1:${server.addr.port}`,
    token: "t",
    caCert: "",
  });
  const writer = new StatusWriter(client, { namespace: "ns", name: "p", uid: "u1" }, () => {});
  writer.set({ phase: "Pending" });
  writer.set({ phase: "Running" });
  writer.set({ phase: "Failed" });
  release();
  await writer.flush();
  writer.set({ phase: "Succeeded" });
  await writer.flush();
  assert.equal(writer.gone, true);
  writer.set({ phase: "Unknown" });
  await writer.flush();
  assert.deepEqual(bodies, [
    { metadata: { uid: "u1" }, status: { phase: "Pending" } },
    { metadata: { uid: "u1" }, status: { phase: "Failed" } },
    { metadata: { uid: "u1" }, status: { phase: "Succeeded" } },
  ]);
  client.close();
  await server.shutdown();
});
