import assert from "node:assert/strict";
import { freePorts } from "./free_ports.ts";

Deno.test("freePorts hands out distinct ports that can be listened on", () => {
  const ports = freePorts(5);
  assert.equal(new Set(ports).size, 5);
  for (const port of ports) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    listener.close();
  }
});
