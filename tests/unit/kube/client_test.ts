import assert from "node:assert/strict";
import { Api, ApiError, isVersion1Certificate } from "../../../src/kube/client.ts";
import type { ClusterAccess } from "../../../src/kube/kubeconfig.ts";
import { createClusterPki } from "../../cluster/pki.ts";

type Handler = (request: Request) => Response | Promise<Response>;

/** A server on 127.0.0.1 for the test's body, TLS when given a certificate. */
async function withServer(
  handler: Handler,
  test: (server: string) => Promise<void>,
  tls?: { cert: string; key: string },
): Promise<void> {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    ...tls,
  }, handler);
  const scheme = tls ? "https" : "http";
  try {
    await test(`${scheme}://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

function access(server: string, more: Partial<ClusterAccess> = {}): ClusterAccess {
  return {
    source: "KUBECONFIG",
    server,
    verify: true,
    credentials: () => Promise.resolve({ headers: { Authorization: "Bearer t0ken" } }),
    ...more,
  };
}

/** A PKI of the local cluster's shape: a CA, and a server certificate for 127.0.0.1. */
async function withPki(test: (files: { ca: string; cert: string; key: string }) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kbk-client-test-" });
  try {
    const pki = await createClusterPki(dir);
    await test({
      ca: await Deno.readTextFile(pki.caCert),
      cert: await Deno.readTextFile(pki.serverCert),
      key: await Deno.readTextFile(pki.serverKey),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a request carries the credentials' headers and a DELETE its JSON body", async () => {
  const seen: { auth: string | null; type: string | null; body: string }[] = [];
  await withServer(async (request) => {
    seen.push({
      auth: request.headers.get("authorization"),
      type: request.headers.get("content-type"),
      body: await request.text(),
    });
    return Response.json({ kind: "Status", status: "Success" });
  }, async (server) => {
    const api = new Api(access(server));
    try {
      await api.request("DELETE", "/apis/batch/v1/namespaces/x/jobs/y", {
        body: { propagationPolicy: "Background" },
      });
    } finally {
      api.close();
    }
  });
  assert.deepEqual(seen, [{
    auth: "Bearer t0ken",
    type: "application/json",
    body: '{"propagationPolicy":"Background"}',
  }]);
});

Deno.test("an error answer throws the server's Status message and reason with its HTTP status", async () => {
  await withServer(
    () =>
      Response.json(
        { kind: "Status", reason: "AlreadyExists", message: 'jobs.batch "y" already exists' },
        { status: 409 },
      ),
    async (server) => {
      const api = new Api(access(server));
      try {
        await assert.rejects(api.request("POST", "/x", { body: {} }), (error) => {
          assert.ok(error instanceof ApiError);
          assert.equal(error.status, 409);
          assert.equal(error.reason, "AlreadyExists");
          assert.equal(error.message, 'jobs.batch "y" already exists');
          assert.equal(error.transient, false);
          return true;
        });
      } finally {
        api.close();
      }
    },
  );
});

Deno.test("a request not answered within its timeout fails with status 0, naming the wait", async () => {
  const never = Promise.withResolvers<Response>();
  await withServer(() => never.promise, async (server) => {
    const api = new Api(access(server));
    try {
      await assert.rejects(api.request("GET", "/slow", { timeoutMs: 200 }), (error) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 0);
        assert.ok(error.transient);
        assert.match(error.message, /^GET \/slow: no answer within 200 ms$/);
        return true;
      });
    } finally {
      api.close();
      never.resolve(new Response("late"));
    }
  });
});

Deno.test("an aborted request rejects with the abort's reason, not as an API error", async () => {
  const never = Promise.withResolvers<Response>();
  await withServer(() => never.promise, async (server) => {
    const api = new Api(access(server));
    const cancel = new AbortController();
    const reason = new Error("cancelled by the agent");
    setTimeout(() => cancel.abort(reason), 50);
    try {
      await assert.rejects(api.request("GET", "/slow", { signal: cancel.signal }), (error) => {
        assert.equal(error, reason);
        return true;
      });
    } finally {
      api.close();
      never.resolve(new Response("late"));
    }
  });
});

Deno.test("a connection refused is status 0 and transient", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const api = new Api(access(`http://127.0.0.1:${port}`));
  try {
    await assert.rejects(api.request("GET", "/version"), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 0);
      assert.ok(error.transient);
      assert.match(error.message, /^GET \/version: .*Connection refused/);
      return true;
    });
  } finally {
    api.close();
  }
});

/** A watch answer whose events come in chunks that split lines, then a silence. */
function chunkedWatch(chunks: string[], then: "end" | "silence"): Handler {
  return () => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const chunk of chunks) {
          controller.enqueue(encoder.encode(chunk));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        if (then === "end") controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  };
}

Deno.test("a watch yields each event once whole, however its lines are split across chunks", async () => {
  const events = [
    { type: "ADDED", object: { metadata: { name: "a", resourceVersion: "1" } } },
    { type: "MODIFIED", object: { metadata: { name: "a", resourceVersion: "2" } } },
  ].map((event) => JSON.stringify(event) + "\n").join("");
  const chunks = [events.slice(0, 7), events.slice(7, 60), events.slice(60)];
  await withServer(chunkedWatch(chunks, "end"), async (server) => {
    const api = new Api(access(server));
    try {
      const seen = [];
      for await (const event of api.watch("/api/v1/pods", {}, { idleMs: 5_000 })) {
        seen.push(
          `${event.type} ${(event.object as { metadata: { name: string } }).metadata.name}`,
        );
      }
      assert.deepEqual(seen, ["ADDED a", "MODIFIED a"]);
    } finally {
      api.close();
    }
  });
});

Deno.test("a watch on which nothing arrives for idleMs throws, so the caller watches again", async () => {
  const added = JSON.stringify({ type: "ADDED", object: {} }) + "\n";
  await withServer(chunkedWatch([added], "silence"), async (server) => {
    const api = new Api(access(server));
    try {
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const event of api.watch("/api/v1/pods", {}, { idleMs: 300 })) {
            seen.push(event.type);
          }
        })(),
        (error) => {
          assert.ok(error instanceof ApiError);
          assert.equal(error.status, 0);
          assert.match(error.message, /nothing arrived for 300 ms/);
          return true;
        },
      );
      assert.deepEqual(seen, ["ADDED"]);
    } finally {
      api.close();
    }
  });
});

Deno.test("an abort ends a stream being read (a followed log)", async () => {
  await withServer(chunkedWatch(["line one\n"], "silence"), async (server) => {
    const api = new Api(access(server));
    const cancel = new AbortController();
    try {
      const { body } = await api.stream("/log", { signal: cancel.signal, answerWhenever: true });
      const read = (async () => {
        const chunks: string[] = [];
        try {
          for await (const chunk of body) chunks.push(new TextDecoder().decode(chunk));
        } catch {
          // An aborted body may end with an error: the abort is what matters.
        }
        return chunks.join("");
      })();
      setTimeout(() => cancel.abort(), 100);
      assert.equal(await read, "line one\n");
      body.destroy();
    } finally {
      api.close();
    }
  });
});

Deno.test("an aborted watch ends quietly: no events, no error", async () => {
  await withServer(chunkedWatch([], "silence"), async (server) => {
    const api = new Api(access(server));
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 100);
    try {
      const seen = await Array.fromAsync(
        api.watch("/api/v1/pods", {}, { idleMs: 5_000, signal: cancel.signal }),
      );
      assert.deepEqual(seen, []);
    } finally {
      api.close();
    }
  });
});

Deno.test("TLS: the kubeconfig's CA is trusted, and a server it did not sign is refused", async () => {
  await withPki(async (ours) => {
    await withPki(async (other) => {
      await withServer(() => Response.json({ gitVersion: "v1.37.2" }), async (server) => {
        const trusted = new Api(access(server, { ca: ours.ca }));
        const stranger = new Api(access(server, { ca: other.ca }));
        try {
          assert.deepEqual(await trusted.request("GET", "/version"), { gitVersion: "v1.37.2" });
          await assert.rejects(stranger.request("GET", "/version"), (error) => {
            assert.ok(error instanceof ApiError);
            assert.equal(error.status, 0);
            assert.match(
              error.message,
              /^GET \/version: .*invalid peer certificate/,
            );
            return true;
          });
        } finally {
          trusted.close();
          stranger.close();
        }
      }, ours);
    });
  });
});

Deno.test("TLS: a stream (a watch, a followed log) trusts the kubeconfig's CA and refuses a server it did not sign", async () => {
  await withPki(async (ours) => {
    await withPki(async (other) => {
      const handler = () => new Response('{"type":"ADDED","object":{"n":1}}\n');
      await withServer(handler, async (server) => {
        const trusted = new Api(access(server, { ca: ours.ca }));
        const stranger = new Api(access(server, { ca: other.ca }));
        try {
          const events = [];
          for await (const event of trusted.watch("/api/v1/pods", {}, { idleMs: 5000 })) {
            events.push(event);
          }
          assert.deepEqual(events, [{ type: "ADDED", object: { n: 1 } }]);
          await assert.rejects(
            stranger.stream("/api/v1/pods", {}),
            (error) => error instanceof ApiError && /invalid peer certificate/.test(error.message),
          );
        } finally {
          trusted.close();
          stranger.close();
        }
      }, ours);
    });
  });
});

Deno.test("TLS: insecure-skip-tls-verify reaches a server no CA of ours signed", async () => {
  await withPki(async (pki) => {
    await withServer(() => Response.json({ gitVersion: "v1.37.2" }), async (server) => {
      const api = new Api(access(server, { verify: false }));
      try {
        assert.deepEqual(await api.request("GET", "/version"), { gitVersion: "v1.37.2" });
      } finally {
        api.close();
      }
    }, pki);
  });
});

Deno.test("TLS: tls-server-name is the name the server's certificate is checked against", async () => {
  await withPki(async (pki) => {
    await withServer(() => Response.json({ gitVersion: "v1.37.2" }), async (server) => {
      // The certificate names kubernetes.default and 127.0.0.1, not kube.example.
      const named = new Api(access(server, { ca: pki.ca, serverName: "kubernetes.default" }));
      const misnamed = new Api(access(server, { ca: pki.ca, serverName: "kube.example" }));
      try {
        assert.deepEqual(await named.request("GET", "/version"), { gitVersion: "v1.37.2" });
        await assert.rejects(misnamed.request("GET", "/version"), (error) => {
          assert.ok(error instanceof ApiError);
          assert.match(error.message, /kube\.example/);
          return true;
        });
      } finally {
        named.close();
        misnamed.close();
      }
    }, pki);
  });
});

Deno.test("a client certificate of X.509 version 1 is told from a version 3 one (fetch's TLS refuses v1)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kbk-client-test-" });
  try {
    const pki = await createClusterPki(dir);
    const issue = async (name: string, extensions: string[]) => {
      const run = (args: string[]) =>
        new Deno.Command("openssl", { args, stderr: "null" }).output();
      // deno-fmt-ignore
      await run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", `${dir}/${name}.key`, "-out", `${dir}/${name}.csr`, "-subj", "/CN=u"]);
      // deno-fmt-ignore
      await run(["x509", "-req", "-in", `${dir}/${name}.csr`, "-CA", pki.caCert, "-CAkey",
        pki.caKey, "-CAcreateserial", "-out", `${dir}/${name}.crt`, "-days", "1", ...extensions]);
      return await Deno.readTextFile(`${dir}/${name}.crt`);
    };
    await Deno.writeTextFile(`${dir}/usage.ext`, "extendedKeyUsage=clientAuth\n");
    assert.equal(isVersion1Certificate(await issue("v1", [])), true);
    assert.equal(isVersion1Certificate(await issue("v3", ["-extfile", `${dir}/usage.ext`])), false);
    assert.equal(isVersion1Certificate(await Deno.readTextFile(pki.caCert)), false);
    assert.equal(isVersion1Certificate("not a certificate"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Runs `abort_after_gc.ts` in a process of its own, where a garbage collection can be forced:
 * what ends a `mode` being read through `transport` must still end it after one.
 */
async function endsAfterGc(mode: string, transport: string): Promise<void> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      new URL("./abort_after_gc.ts", import.meta.url).pathname,
      mode,
      transport,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(success);
  assert.match(new TextDecoder().decode(stdout), /^ended: /);
}

for (const transport of ["fetch", "node"]) {
  for (const mode of ["stream", "watch"]) {
    Deno.test(`an abort still ends a ${mode} being read after a garbage collection (${transport})`, () =>
      endsAfterGc(mode, transport));
  }
  Deno.test(`a stream's time limit still ends it after a garbage collection (${transport})`, () =>
    endsAfterGc("timeout", transport));
}

Deno.test("with a proxy configured, streams go through it as every other request does", async () => {
  await withServer(() => new Response("through\n"), async (server) => {
    const seen: string[] = [];
    // A forward proxy: it gets the whole URL, and asks the server itself.
    const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      seen.push(request.url);
      return fetch(request.url);
    });
    try {
      const { stdout, success } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          new URL("./stream_through_proxy.ts", import.meta.url).pathname,
          server,
        ],
        env: { HTTP_PROXY: `http://127.0.0.1:${proxy.addr.port}`, NO_PROXY: "" },
        stdout: "piped",
        stderr: "inherit",
      }).output();
      assert.ok(success);
      assert.equal(new TextDecoder().decode(stdout), "through\n\n");
      assert.deepEqual(seen, [`${server}/log`]);
    } finally {
      await proxy.shutdown();
    }
  });
});
