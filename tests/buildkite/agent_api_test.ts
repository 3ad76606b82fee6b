/**
 * The agent API stand-in, driven over HTTP as `buildkite-agent start` drives it: which token
 * opens which route, log chunks, meta-data, artifacts, job states.
 */
import assert from "node:assert/strict";
import { type AgentApi, serveAgentApi } from "./agent_api.ts";

interface Answer {
  status: number;
  body: unknown;
}

interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request, as the agent sends it (`Authorization: Token ...`, a JSON body). */
async function call(
  api: AgentApi,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
  let body: BodyInit | undefined;
  if (options.body instanceof Uint8Array || options.body instanceof FormData) {
    body = options.body as BodyInit;
  } else if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const origin = api.endpoint.slice(0, -"/v3".length);
  const response = await fetch(`${origin}${path}`, { method, headers, body });
  return { status: response.status, body: await response.json() };
}

/** What an agent holds once it has registered, taken a job and accepted it. */
interface Accepted {
  agentToken: string;
  jobId: string;
  jobToken: string;
  job: Record<string, unknown>;
}

async function acceptJob(api: AgentApi, jobId: string): Promise<Accepted> {
  const registered = await call(api, "POST", "/v3/register", {
    token: api.registrationToken,
    body: { name: "agent-1", meta_data: ["queue=default"] },
  });
  assert.equal(registered.status, 200, JSON.stringify(registered.body));
  const agentToken = (registered.body as { access_token: string }).access_token;
  const ping = await call(api, "GET", "/v3/ping", { token: agentToken });
  assert.deepEqual(ping.body, { job: { id: jobId, state: "assigned" } });
  const accepted = await call(api, "PUT", `/v3/jobs/${jobId}/accept`, { token: agentToken });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  const job = accepted.body as Record<string, unknown>;
  return { agentToken, jobId, jobToken: job.token as string, job };
}

function queue(api: AgentApi, env: Record<string, string> = {}): string {
  return api.queueJob({ repository: "/tmp/repository", command: "true", env });
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function sendChunk(
  api: AgentApi,
  accepted: Accepted,
  chunk: { sequence: number; offset: number; text: string },
): Promise<Answer> {
  const size = new TextEncoder().encode(chunk.text).length;
  return await call(
    api,
    "POST",
    `/v3/jobs/${accepted.jobId}/chunks?sequence=${chunk.sequence}&offset=${chunk.offset}&size=${size}`,
    {
      token: accepted.jobToken,
      body: await gzip(chunk.text),
      headers: { "content-type": "text/plain", "content-encoding": "gzip" },
    },
  );
}

Deno.test("each token opens its own routes and no others", async (t) => {
  await using api = serveAgentApi();
  const first = await acceptJob(api, queue(api));
  const second = await acceptJob(api, queue(api));
  const tokens: Record<string, string | undefined> = {
    registration: api.registrationToken,
    agent: first.agentToken,
    job: first.jobToken,
    "another job's": second.jobToken,
    "a made-up": "bkaj_not-a-real-token",
    "no": undefined,
  };
  const job = first.jobId;
  const routes: { method: string; path: string; body?: unknown; token: string }[] = [
    { method: "POST", path: "/v3/register", body: { name: "agent-2" }, token: "registration" },
    { method: "POST", path: "/v3/connect", token: "agent" },
    { method: "GET", path: "/v3/ping", token: "agent" },
    { method: "POST", path: "/v3/heartbeat", body: { sent_at: "now" }, token: "agent" },
    { method: "GET", path: `/v3/jobs/${job}`, token: "job" },
    { method: "PUT", path: `/v3/jobs/${job}/start`, body: { started_at: "now" }, token: "job" },
    {
      method: "POST",
      path: `/v3/jobs/${job}/header_times`,
      body: { header_times: {} },
      token: "job",
    },
    { method: "POST", path: `/v3/jobs/${job}/annotations`, body: { body: "hi" }, token: "job" },
    {
      method: "POST",
      path: `/v3/jobs/${job}/data/set`,
      body: { key: "k", value: "v" },
      token: "job",
    },
    { method: "POST", path: `/v3/jobs/${job}/data/exists`, body: { key: "k" }, token: "job" },
    { method: "POST", path: `/v3/jobs/${job}/data/keys`, token: "job" },
    { method: "POST", path: `/v3/jobs/${job}/artifacts`, body: { artifacts: [] }, token: "job" },
  ];
  for (const route of routes) {
    for (const [kind, token] of Object.entries(tokens)) {
      const expected = kind === route.token ? 200 : 401;
      await t.step(`${route.method} ${route.path} with ${kind} token: ${expected}`, async () => {
        const answer = await call(api, route.method, route.path, { token, body: route.body });
        assert.equal(answer.status, expected, JSON.stringify(answer.body));
        if (expected === 401) assert.match((answer.body as { message: string }).message, /./);
      });
    }
  }
});

Deno.test("a job's token is refused for another job, naming both", async () => {
  await using api = serveAgentApi();
  const first = await acceptJob(api, queue(api));
  const second = await acceptJob(api, queue(api));
  const answer = await call(api, "PUT", `/v3/jobs/${second.jobId}/finish`, {
    token: first.jobToken,
    body: { exit_status: "0" },
  });
  assert.equal(answer.status, 401);
  assert.deepEqual(answer.body, {
    message: `PUT /v3/jobs/${second.jobId}/finish: the token of job ${first.jobId} ` +
      `is not valid for job ${second.jobId}`,
  });
  assert.equal(api.finish(second.jobId), undefined);
});

Deno.test("ping hands out a queued job once; accept gives a bkaj_ token and the job's env", async () => {
  await using api = serveAgentApi();
  const registered = await call(api, "POST", "/v3/register", {
    token: api.registrationToken,
    body: { name: "agent-1", meta_data: ["queue=kubernetes"] },
  });
  const agentToken = (registered.body as { access_token: string }).access_token;
  assert.deepEqual((await call(api, "GET", "/v3/ping", { token: agentToken })).body, {});
  const id = api.queueJob({
    repository: "/tmp/repository",
    command: "make test",
    plugins: [{ "file:///tmp/x/kubernetes-buildkite-plugin#abc": { image: "alpine" } }],
    timeoutInMinutes: 5,
    env: { BUILDKITE_BRANCH: "feature" },
  });
  const ping = await call(api, "GET", "/v3/ping", { token: agentToken });
  assert.deepEqual(ping.body, { job: { id, state: "assigned" } });
  assert.deepEqual((await call(api, "GET", "/v3/ping", { token: agentToken })).body, {});
  const accepted = await call(api, "PUT", `/v3/jobs/${id}/accept`, { token: agentToken });
  const job = accepted.body as { token: string; env: Record<string, string> };
  assert.match(job.token, /^bkaj_/);
  assert.equal(job.env.BUILDKITE_JOB_ID, id);
  assert.equal(job.env.BUILDKITE_COMMAND, "make test");
  assert.equal(job.env.BUILDKITE_TIMEOUT, "5");
  assert.equal(job.env.BUILDKITE_BRANCH, "feature");
  assert.equal(job.env.BUILDKITE_AGENT_NAME, "agent-1");
  assert.equal(job.env.BUILDKITE_AGENT_META_DATA_QUEUE, "kubernetes");
  assert.deepEqual(JSON.parse(job.env.BUILDKITE_PLUGINS), [
    { "file:///tmp/x/kubernetes-buildkite-plugin#abc": { image: "alpine" } },
  ]);
  for (const name of ["BUILDKITE_REPO", "BUILDKITE_COMMIT", "BUILDKITE_ORGANIZATION_SLUG"]) {
    assert.ok(job.env[name], `${name} is set`);
  }
  assert.equal(api.state(id), "accepted");
  const again = await call(api, "PUT", `/v3/jobs/${id}/accept`, { token: agentToken });
  assert.equal(again.status, 422);
});

async function register(api: AgentApi, body: unknown = {}): Promise<string> {
  const registered = await call(api, "POST", "/v3/register", {
    token: api.registrationToken,
    body,
  });
  return (registered.body as { access_token: string }).access_token;
}

Deno.test("an agent that finished with ignore_agent_in_dispatches is handed no other job", async () => {
  await using api = serveAgentApi();
  const first = await acceptJob(api, queue(api));
  await call(api, "PUT", `/v3/jobs/${first.jobId}/finish`, {
    token: first.jobToken,
    body: { exit_status: "0", ignore_agent_in_dispatches: true },
  });
  const next = queue(api);
  assert.deepEqual((await call(api, "GET", "/v3/ping", { token: first.agentToken })).body, {});
  const other = await register(api);
  assert.deepEqual((await call(api, "GET", "/v3/ping", { token: other })).body, {
    job: { id: next, state: "assigned" },
  });
});

Deno.test("an agent registered with ignore_in_dispatches is handed no job", async () => {
  await using api = serveAgentApi();
  queue(api);
  const agentToken = await register(api, { ignore_in_dispatches: true });
  assert.deepEqual((await call(api, "GET", "/v3/ping", { token: agentToken })).body, {});
});

Deno.test("a job handed to an agent that disconnects without accepting it goes back to the queue", async () => {
  await using api = serveAgentApi();
  const id = queue(api);
  const leaving = await register(api);
  await call(api, "GET", "/v3/ping", { token: leaving });
  await call(api, "POST", "/v3/disconnect", { token: leaving });
  assert.equal(api.state(id), "scheduled");
  const staying = await register(api);
  assert.deepEqual((await call(api, "GET", "/v3/ping", { token: staying })).body, {
    job: { id, state: "assigned" },
  });
});

Deno.test("acquire takes a scheduled job by id, once", async () => {
  await using api = serveAgentApi();
  const registered = await call(api, "POST", "/v3/register", { token: api.registrationToken });
  const agentToken = (registered.body as { access_token: string }).access_token;
  const id = queue(api);
  const headers = { "x-buildkite-lock-acquire-job": "1" };
  const acquired = await call(api, "PUT", `/v3/jobs/${id}/acquire`, { token: agentToken, headers });
  assert.equal(acquired.status, 200);
  assert.match((acquired.body as { token: string }).token, /^bkaj_/);
  const again = await call(api, "PUT", `/v3/jobs/${id}/acquire`, { token: agentToken, headers });
  assert.equal(again.status, 422);
  const missing = await call(api, "PUT", "/v3/jobs/nope/acquire", { token: agentToken, headers });
  assert.equal(missing.status, 404);
});

Deno.test("gzip log chunks sent out of order read back in order", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const chunks = [
    { sequence: 1, offset: 0, text: "one\n" },
    { sequence: 2, offset: 4, text: "two\n" },
    { sequence: 3, offset: 8, text: "three\n" },
  ];
  assert.equal((await sendChunk(api, accepted, chunks[2])).status, 200);
  assert.equal((await sendChunk(api, accepted, chunks[0])).status, 200);
  assert.equal(api.log(accepted.jobId), "one\n");
  assert.equal((await sendChunk(api, accepted, chunks[1])).status, 200);
  assert.equal(api.log(accepted.jobId), "one\ntwo\nthree\n");
});

const badChunks: { name: string; size: number; gzip: boolean; header: boolean; message: RegExp }[] =
  [
    {
      name: "gzip without Content-Encoding",
      size: 4,
      gzip: true,
      header: false,
      message: /Content-Encoding: gzip/,
    },
    {
      name: "plain text said to be gzip",
      size: 4,
      gzip: false,
      header: true,
      message: /not valid gzip/,
    },
    {
      name: "not the size it says",
      size: 9,
      gzip: true,
      header: true,
      message: /size=9 but 4 bytes/,
    },
  ];

for (const bad of badChunks) {
  Deno.test(`a log chunk sent as ${bad.name} is refused with 400`, async () => {
    await using api = serveAgentApi();
    const accepted = await acceptJob(api, queue(api));
    const path = `/v3/jobs/${accepted.jobId}/chunks?sequence=1&offset=0&size=${bad.size}`;
    const answer = await call(api, "POST", path, {
      token: accepted.jobToken,
      body: bad.gzip ? await gzip("one\n") : new TextEncoder().encode("one\n"),
      headers: bad.header ? { "content-encoding": "gzip" } : {},
    });
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.match((answer.body as { message: string }).message, bad.message);
    assert.equal(api.log(accepted.jobId), "");
  });
}

Deno.test("a character split across two chunks reads back whole", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const bytes = new TextEncoder().encode("é\n");
  for (
    const [sequence, offset, part] of [[2, 1, bytes.slice(1)], [1, 0, bytes.slice(0, 1)]] as const
  ) {
    const path =
      `/v3/jobs/${accepted.jobId}/chunks?sequence=${sequence}&offset=${offset}&size=${part.length}`;
    const stream = new Blob([part]).stream().pipeThrough(new CompressionStream("gzip"));
    const answer = await call(api, "POST", path, {
      token: accepted.jobToken,
      body: new Uint8Array(await new Response(stream).arrayBuffer()),
      headers: { "content-encoding": "gzip" },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }
  assert.equal(api.log(accepted.jobId), "é\n");
});

Deno.test("the agent's line timestamps are taken out of the log, split chunks or not", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const raw = "\x1b_bk;t=1700000000000\x07one\n\x1b_bk;t=1700000000001\x07\x1b[31mtwo\x1b[0m\n";
  const cut = raw.indexOf("t=1700000000001") + 4;
  await sendChunk(api, accepted, { sequence: 2, offset: cut, text: raw.slice(cut) });
  await sendChunk(api, accepted, { sequence: 1, offset: 0, text: raw.slice(0, cut) });
  assert.equal(api.log(accepted.jobId), "one\n\x1b[31mtwo\x1b[0m\n");
});

Deno.test("a finished job whose log misses a chunk says which bytes", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  await sendChunk(api, accepted, { sequence: 2, offset: 4, text: "two\n" });
  await call(api, "PUT", `/v3/jobs/${accepted.jobId}/finish`, {
    token: accepted.jobToken,
    body: { exit_status: "0" },
  });
  assert.throws(() => api.log(accepted.jobId), /misses bytes 0-4/);
});

Deno.test("meta-data: set, get, exists, keys; get of a missing key is 404", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const data = (action: string, body: unknown) =>
    call(api, "POST", `/v3/jobs/${accepted.jobId}/data/${action}`, {
      token: accepted.jobToken,
      body,
    });
  const missing = await data("get", { key: "k" });
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { message: 'no meta-data key "k" in this build' });
  assert.deepEqual((await data("exists", { key: "k" })).body, { exists: false });
  assert.equal((await data("set", { key: "k", value: "v" })).status, 200);
  assert.deepEqual((await data("get", { key: "k" })).body, { key: "k", value: "v" });
  assert.deepEqual((await data("exists", { key: "k" })).body, { exists: true });
  assert.deepEqual((await data("keys", undefined)).body, ["k"]);
  assert.equal((await data("set", { key: "empty", value: "" })).status, 422);
  assert.deepEqual(api.metaData(accepted.jobId), { k: "v" });
});

Deno.test("meta-data belongs to the build: a second job of the build reads it", async () => {
  await using api = serveAgentApi();
  const build = { BUILDKITE_BUILD_ID: crypto.randomUUID() };
  const first = await acceptJob(api, queue(api, build));
  const second = await acceptJob(api, queue(api, build));
  await call(api, "POST", `/v3/jobs/${first.jobId}/data/set`, {
    token: first.jobToken,
    body: { key: "k", value: "from the first job" },
  });
  const read = await call(api, "POST", `/v3/jobs/${second.jobId}/data/get`, {
    token: second.jobToken,
    body: { key: "k" },
  });
  assert.deepEqual(read.body, { key: "k", value: "from the first job" });
});

Deno.test("annotations: one per context, append adds to the body", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const annotate = (body: unknown) =>
    call(api, "POST", `/v3/jobs/${accepted.jobId}/annotations`, {
      token: accepted.jobToken,
      body,
    });
  await annotate({ body: "first", context: "report", style: "error" });
  await annotate({ body: " and more", context: "report", append: true });
  await annotate({ body: "other" });
  assert.deepEqual(api.annotations(accepted.jobId), [
    {
      context: "report",
      style: "error",
      body: "first and more",
      priority: undefined,
      scope: undefined,
    },
    { context: "default", style: "default", body: "other", priority: undefined, scope: undefined },
  ]);
});

/** The agent's artifact upload: create, upload each file as a form, report its state. */
async function uploadArtifact(
  api: AgentApi,
  accepted: Accepted,
  file: { path: string; contents: string; sha1sum?: string; authorization?: string },
): Promise<Answer> {
  const bytes = new TextEncoder().encode(file.contents);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
  const sha1sum = file.sha1sum ?? [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  const created = await call(api, "POST", `/v3/jobs/${accepted.jobId}/artifacts`, {
    token: accepted.jobToken,
    body: {
      id: crypto.randomUUID(),
      artifacts: [{
        path: file.path,
        absolute_path: `/work/${file.path}`,
        file_size: bytes.length,
        sha1sum,
      }],
      upload_destination: "",
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const { artifact_ids, upload_instructions } = created.body as {
    artifact_ids: string[];
    upload_instructions: {
      data: Record<string, string>;
      action: { url: string; method: string; path: string; file_input: string };
    };
  };
  const form = new FormData();
  for (const [key, value] of Object.entries(upload_instructions.data)) {
    form.append(key, value.replaceAll("${artifact:path}", file.path));
  }
  form.append(upload_instructions.action.file_input, new Blob([bytes]), file.path);
  const target = new URL(upload_instructions.action.url);
  target.pathname = upload_instructions.action.path;
  assert.equal(target.hostname, "127.0.0.1");
  const headers: Record<string, string> = {};
  if (file.authorization) headers.authorization = file.authorization;
  const uploaded = await fetch(target, {
    method: upload_instructions.action.method,
    headers,
    body: form,
  });
  const answer = { status: uploaded.status, body: await uploaded.json() };
  if (uploaded.ok) {
    const state = await call(api, "PUT", `/v3/jobs/${accepted.jobId}/artifacts`, {
      token: accepted.jobToken,
      body: { artifacts: [{ id: artifact_ids[0], state: "finished" }] },
    });
    assert.equal(state.status, 200);
  }
  return answer;
}

Deno.test("an artifact uploaded to its instructions' target reads back byte for byte", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const answer = await uploadArtifact(api, accepted, { path: "out/report.txt", contents: "42\n" });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  const [artifact] = api.artifacts(accepted.jobId);
  assert.equal(artifact.path, "out/report.txt");
  assert.equal(artifact.state, "finished");
  assert.equal(new TextDecoder().decode(artifact.contents), "42\n");
});

Deno.test("an upload with a token, or not matching its sha1, is refused", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const withToken = await uploadArtifact(api, accepted, {
    path: "a.txt",
    contents: "a",
    authorization: `Token ${accepted.jobToken}`,
  });
  assert.equal(withToken.status, 400);
  const corrupted = await uploadArtifact(api, accepted, {
    path: "b.txt",
    contents: "b",
    sha1sum: "0000000000000000000000000000000000000000",
  });
  assert.equal(corrupted.status, 422);
  assert.deepEqual(api.artifacts(accepted.jobId).map((a) => a.contents), [undefined, undefined]);
});

Deno.test("an unknown route is a JSON 404 naming the method and path", async () => {
  await using api = serveAgentApi();
  const answer = await call(api, "POST", "/v3/jobs/x/pipelines?async=true", { token: "t" });
  assert.equal(answer.status, 404);
  assert.deepEqual(answer.body, { message: "no route for POST /v3/jobs/x/pipelines" });
  assert.deepEqual(api.refusals, [
    {
      method: "POST",
      path: "/v3/jobs/x/pipelines",
      status: 404,
      message: "no route for POST /v3/jobs/x/pipelines",
    },
  ]);
});

Deno.test("streaming pings, at the host's root, are a 404 that sends the agent to polling", async () => {
  await using api = serveAgentApi();
  const registered = await call(api, "POST", "/v3/register", { token: api.registrationToken });
  const agentToken = (registered.body as { access_token: string }).access_token;
  const answer = await call(api, "POST", "/agentedge.v1.AgentEdgeService/StreamPings", {
    token: agentToken,
  });
  assert.deepEqual(answer, {
    status: 404,
    body: { message: "streaming pings are not offered here; poll GET /v3/ping" },
  });
});

Deno.test("cancel: the agent sees canceling; its finish makes the job canceled", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const job = `/v3/jobs/${accepted.jobId}`;
  await call(api, "PUT", `${job}/start`, { token: accepted.jobToken, body: {} });
  const canceled = api.waitForState(accepted.jobId, "canceled", { timeoutMs: 5_000 });
  api.cancel(accepted.jobId);
  assert.deepEqual((await call(api, "GET", job, { token: accepted.jobToken })).body, {
    id: accepted.jobId,
    state: "canceling",
  });
  const finish = { exit_status: "-1", signal: "SIGTERM", signal_reason: "cancel" };
  await call(api, "PUT", `${job}/finish`, { token: accepted.jobToken, body: finish });
  await canceled;
  assert.deepEqual(api.finish(accepted.jobId), finish);
  const twice = await call(api, "PUT", `${job}/finish`, { token: accepted.jobToken, body: finish });
  assert.equal(twice.status, 422);
});

Deno.test("a job not yet accepted is canceled at once and never handed out", async () => {
  await using api = serveAgentApi();
  const id = queue(api);
  api.cancel(id);
  assert.equal(api.state(id), "canceled");
  const registered = await call(api, "POST", "/v3/register", { token: api.registrationToken });
  const agentToken = (registered.body as { access_token: string }).access_token;
  assert.deepEqual((await call(api, "GET", "/v3/ping", { token: agentToken })).body, {});
});

Deno.test("waitForState rejects when the job ends in another state", async () => {
  await using api = serveAgentApi();
  const accepted = await acceptJob(api, queue(api));
  const running = assert.rejects(
    api.waitForState(accepted.jobId, "running", { timeoutMs: 5_000 }),
    /ended finished without being running \(scheduled,assigned,accepted,finished\)/,
  );
  await call(api, "PUT", `/v3/jobs/${accepted.jobId}/finish`, {
    token: accepted.jobToken,
    body: { exit_status: "1" },
  });
  await running;
});

Deno.test("waitForState rejects after its timeout, saying what it waited for", async () => {
  await using api = serveAgentApi();
  const id = queue(api);
  await assert.rejects(
    api.waitForState(id, "running", { timeoutMs: 50 }),
    /waited 50 ms for job .* to be running; it is scheduled/,
  );
});

Deno.test("a step timeout turns the running job timing_out after its minutes", async () => {
  await using api = serveAgentApi({ minuteMs: 200 });
  const id = api.queueJob({
    repository: "/tmp/repository",
    command: "sleep 1",
    timeoutInMinutes: 1,
  });
  const accepted = await acceptJob(api, id);
  const started = performance.now();
  await call(api, "PUT", `/v3/jobs/${id}/start`, { token: accepted.jobToken, body: {} });
  await api.waitForState(id, "timing_out", { timeoutMs: 2_000 });
  assert.ok(performance.now() - started >= 190, "not before its minute");
  const state = await call(api, "GET", `/v3/jobs/${id}`, { token: accepted.jobToken });
  assert.equal((state.body as { state: string }).state, "timing_out");
  await call(api, "PUT", `/v3/jobs/${id}/finish`, {
    token: accepted.jobToken,
    body: { exit_status: "-1", signal: "SIGTERM", signal_reason: "cancel" },
  });
  assert.equal(api.state(id), "timed_out");
});

Deno.test("a timeout that is not a whole number of minutes is refused, naming the option", async () => {
  await using api = serveAgentApi();
  assert.throws(
    () => api.queueJob({ repository: "/r", timeoutInMinutes: 0.5 }),
    /timeoutInMinutes: 0.5 is not a positive whole number of minutes/,
  );
});
