/**
 * A local stand-in for Buildkite's agent API, the REST API under `/v3` that
 * `buildkite-agent start` registers with, takes jobs from and reports them to. It listens on
 * 127.0.0.1 only. A test queues a job, lets a real agent run it, and reads back what Buildkite
 * would have shown: the log, annotations, meta-data, artifacts and how the job finished.
 * Tokens are checked as Buildkite checks them, so a plugin that sends the wrong one fails here
 * as it would in production.
 *
 * @module
 */

import { ChunkedLog } from "./log_chunks.ts";

/** The states of a job this stand-in goes through (Buildkite's names). */
export type JobState =
  | "scheduled"
  | "assigned"
  | "accepted"
  | "running"
  | "canceling"
  | "canceled"
  | "timing_out"
  | "timed_out"
  | "finished";

const FINAL_STATES: ReadonlySet<JobState> = new Set(["canceled", "timed_out", "finished"]);

/**
 * The timestamp the agent puts before each log line (an APC escape, even without a pty), which
 * Buildkite's log viewer turns into the line's time.
 */
// deno-lint-ignore no-control-regex
const LINE_TIMESTAMP = /\x1b_bk;t=\d+\x07/g;

/** What the agent learns about its log limits when it accepts a job. */
const CHUNKS_MAX_SIZE_BYTES = 100 * 1024;
const LOG_MAX_SIZE_BYTES = 1024 * 1024 * 1024;

/** A job to queue. */
export interface JobOptions {
  /** BUILDKITE_REPO: the repository the agent checks out (a local path or `file://` URL). */
  repository: string;
  /** BUILDKITE_COMMAND (default: empty, for steps whose plugin runs the command). */
  command?: string;
  /**
   * BUILDKITE_PLUGINS: `"source#ref"` or `{"source#ref": {config}}` entries, e.g.
   * `[{"file:///tmp/x/kubernetes-buildkite-plugin#<sha>": {image: "alpine"}}]`. None when empty.
   */
  plugins?: unknown[];
  /**
   * The step's `timeout_in_minutes`, a whole number: BUILDKITE_TIMEOUT, and, as on Buildkite,
   * the job turns `timing_out` that long after it started, which is how the agent learns of it.
   */
  timeoutInMinutes?: number;
  /** BUILDKITE_ARTIFACT_PATHS: what the agent uploads after the command. */
  artifactPaths?: string;
  /** The job's id (default: a fresh UUID). */
  id?: string;
  /** More job variables; they override the defaults, e.g. BUILDKITE_BUILD_ID to share a build. */
  env?: Record<string, string>;
}

/** How the agent said the job ended: the body of `PUT /jobs/:id/finish`, as sent. */
export interface FinishPayload {
  exit_status: string;
  signal?: string;
  signal_reason?: string;
  finished_at?: string;
  chunks_failed_count?: number;
  /** Sent by `--disconnect-after-job`: dispatch this agent no more jobs. */
  ignore_agent_in_dispatches?: boolean;
}

/** A build annotation as it stands after every `annotate` call. */
export interface Annotation {
  context: string;
  style: string;
  body: string;
  priority?: number;
  scope?: string;
}

/** An artifact the agent created, and what it uploaded. */
export interface StoredArtifact {
  id: string;
  path: string;
  absolutePath: string;
  globPath: string;
  fileSize: number;
  sha1sum: string;
  sha256sum: string;
  contentType: string;
  /** `new` until the agent reports `finished` or `error`. */
  state: string;
  /** The uploaded file, once the upload target received it. */
  contents?: Uint8Array;
}

/** An agent that registered. */
export interface RegisteredAgent {
  id: string;
  name: string;
  hostname: string;
  version: string;
  tags: string[];
  state: "registered" | "connected" | "disconnected";
}

/** A request this stand-in answered with an error, and why. */
export interface Refusal {
  method: string;
  path: string;
  status: number;
  message: string;
}

/** How the stand-in behaves. */
export interface AgentApiOptions {
  /** The token `buildkite-agent start --token` must present (default: a fresh one). */
  registrationToken?: string;
  /** How long one minute of a job's `timeoutInMinutes` lasts (default 60 000 ms). */
  minuteMs?: number;
}

/** How long to wait for something a job does. */
export interface WaitOptions {
  /** Default 60 000 ms. */
  timeoutMs?: number;
}

interface Job {
  id: string;
  state: JobState;
  history: JobState[];
  env: Record<string, string>;
  callerEnv: Record<string, string>;
  buildId: string;
  timeoutInMinutes?: number;
  agentId?: string;
  token?: string;
  log: ChunkedLog;
  finish?: FinishPayload;
  artifacts: Map<string, StoredArtifact>;
  timeoutTimer?: ReturnType<typeof setTimeout>;
}

interface Agent extends RegisteredAgent {
  accessToken: string;
  /** Asked for no jobs: `--acquire-job` at register, `--disconnect-after-job` at finish. */
  ignoredInDispatches: boolean;
}

interface Build {
  metaData: Map<string, string>;
  annotations: Map<string, Annotation>;
}

/** Artifacts of one create call, uploaded to `/uploads/:id` without a token, as to S3. */
interface UploadBatch {
  jobId: string;
  artifactIds: Map<string, string>;
}

type Auth = "registration" | "agent" | "job" | "upload";

interface Call {
  request: Request;
  url: URL;
  params: Record<string, string | undefined>;
  agent?: Agent;
  job?: Job;
}

interface Route {
  method: string;
  pattern: URLPattern;
  auth: Auth;
  handle: (call: Call) => unknown;
}

/** An answer other than 2xx; its message reaches the agent as `{"message": ...}`. */
class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface Waiter {
  check: () => boolean;
  reject: (error: Error) => void;
}

/** The running stand-in. Dispose of it (`await using`) to stop listening. */
export class AgentApi implements AsyncDisposable {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** What `buildkite-agent start --endpoint` takes: `http://127.0.0.1:PORT/v3`. */
  readonly endpoint: string;
  /** What `buildkite-agent start --token` takes. */
  readonly registrationToken: string;
  /** Every request answered with an error, in order (unknown routes included). */
  readonly refusals: Refusal[] = [];

  #server: Deno.HttpServer<Deno.NetAddr>;
  #origin: string;
  #minuteMs: number;
  #routes: Route[];
  #agents = new Map<string, Agent>();
  #jobs = new Map<string, Job>();
  #builds = new Map<string, Build>();
  #uploads = new Map<string, UploadBatch>();
  #waiters = new Set<Waiter>();
  #buildNumber = 0;

  constructor(options: AgentApiOptions = {}) {
    this.registrationToken = options.registrationToken ?? `local-registration-${randomToken()}`;
    this.#minuteMs = options.minuteMs ?? 60_000;
    this.#routes = this.#routeTable();
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#answer(request),
    );
    this.port = this.#server.addr.port;
    this.#origin = `http://127.0.0.1:${this.port}`;
    this.endpoint = `${this.#origin}/v3`;
  }

  /** Queues a job for the next agent that pings; returns its id. */
  queueJob(options: JobOptions): string {
    const { timeoutInMinutes } = options;
    if (
      timeoutInMinutes !== undefined &&
      !(Number.isInteger(timeoutInMinutes) && timeoutInMinutes > 0)
    ) {
      throw new Error(
        `timeoutInMinutes: ${timeoutInMinutes} is not a positive whole number of minutes`,
      );
    }
    const id = options.id ?? crypto.randomUUID();
    if (this.#jobs.has(id)) throw new Error(`a job with id ${id} is already queued`);
    const callerEnv = options.env ?? {};
    const env = { ...this.#defaultEnv(id, options), ...callerEnv };
    const buildId = env.BUILDKITE_BUILD_ID;
    if (!this.#builds.has(buildId)) {
      this.#builds.set(buildId, { metaData: new Map(), annotations: new Map() });
    }
    this.#jobs.set(id, {
      id,
      state: "scheduled",
      history: ["scheduled"],
      env,
      callerEnv,
      buildId,
      timeoutInMinutes,
      log: new ChunkedLog(),
      artifacts: new Map(),
    });
    this.#changed();
    return id;
  }

  /** The job's state now. */
  state(id: string): JobState {
    return this.#job(id).state;
  }

  /**
   * Resolves once the job is, or has been, in `state`; rejects when it ends without reaching
   * it or when the time is up.
   */
  waitForState(id: string, state: JobState, options: WaitOptions = {}): Promise<void> {
    const job = this.#job(id);
    return this.#waitFor(
      () => {
        if (job.history.includes(state)) return true;
        if (FINAL_STATES.has(job.state)) {
          throw new Error(`job ${id} ended ${job.state} without being ${state} (${job.history})`);
        }
        return false;
      },
      options,
      () => `job ${id} to be ${state}; it is ${job.state} (${job.history})`,
    );
  }

  /** Resolves with the log once it matches `pattern`. */
  async waitForLog(id: string, pattern: RegExp, options: WaitOptions = {}): Promise<string> {
    await this.#waitFor(
      () => pattern.test(this.log(id)),
      options,
      () => `the log of job ${id} to match ${pattern}; it is:\n${this.log(id)}`,
    );
    return this.log(id);
  }

  /**
   * The job's log as reassembled so far, up to the first missing chunk, as Buildkite shows it:
   * the agent's `ESC _bk;t=<ms> BEL` line timestamps taken out (colours stay). Once the job has
   * finished every chunk must be in: a hole then throws, naming it.
   */
  log(id: string): string {
    const job = this.#job(id);
    const holes = job.log.holes();
    if (job.finish && holes.length > 0) {
      const ranges = holes.map((hole) => `${hole.start}-${hole.end}`).join(", ");
      throw new Error(`job ${id} finished but its log misses bytes ${ranges}`);
    }
    return new TextDecoder().decode(job.log.prefix()).replace(LINE_TIMESTAMP, "");
  }

  /** The annotations of the job's build, in the order they were created. */
  annotations(id: string): Annotation[] {
    return [...this.#build(this.#job(id)).annotations.values()];
  }

  /** The meta-data of the job's build. */
  metaData(id: string): Record<string, string> {
    return Object.fromEntries(this.#build(this.#job(id)).metaData);
  }

  /** The artifacts the job created, in the order it created them. */
  artifacts(id: string): StoredArtifact[] {
    return [...this.#job(id).artifacts.values()];
  }

  /** How the agent said the job finished, once it has. */
  finish(id: string): FinishPayload | undefined {
    return this.#job(id).finish;
  }

  /** The job's environment: the one the agent got when it accepted it. */
  env(id: string): Record<string, string> {
    return { ...this.#job(id).env };
  }

  /** Every agent that registered, in order. */
  agents(): RegisteredAgent[] {
    return [...this.#agents.values()].map(({ id, name, hostname, version, tags, state }) => ({
      id,
      name,
      hostname,
      version,
      tags: [...tags],
      state,
    }));
  }

  /**
   * Cancels the job as the Buildkite UI does: a job no agent has accepted is `canceled` at
   * once; a running one turns `canceling`, which the agent sees on its next state poll.
   */
  cancel(id: string): void {
    const job = this.#job(id);
    if (job.state === "scheduled" || job.state === "assigned") {
      this.#setState(job, "canceled");
    } else if (FINAL_STATES.has(job.state)) {
      throw new Error(`job ${id} cannot be canceled: it is already ${job.state}`);
    } else {
      this.#setState(job, "canceling");
    }
  }

  /** Stops listening; pending waits reject. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const job of this.#jobs.values()) clearTimeout(job.timeoutTimer);
    for (const waiter of this.#waiters) waiter.reject(new Error("the agent API stand-in closed"));
    this.#waiters.clear();
    await this.#server.shutdown();
  }

  #routeTable(): Route[] {
    const route = (method: string, path: string, auth: Auth, handle: Route["handle"]): Route => ({
      method,
      pattern: new URLPattern({ pathname: path }),
      auth,
      handle,
    });
    return [
      route("POST", "/v3/register", "registration", (call) => this.#register(call)),
      route("POST", "/v3/connect", "agent", (call) => this.#connect(call.agent!)),
      // The agent sends streaming pings to the endpoint's host, at the root, not under /v3.
      route("POST", "/agentedge.v1.AgentEdgeService/StreamPings", "agent", () => {
        throw new ApiError(404, "streaming pings are not offered here; poll GET /v3/ping");
      }),
      route("GET", "/v3/ping", "agent", (call) => this.#ping(call.agent!)),
      route("POST", "/v3/heartbeat", "agent", (call) => this.#heartbeat(call)),
      route("PUT", "/v3/jobs/:id/accept", "agent", (call) => this.#accept(call)),
      route("PUT", "/v3/jobs/:id/acquire", "agent", (call) => this.#acquire(call)),
      route("POST", "/v3/disconnect", "agent", (call) => this.#disconnect(call.agent!)),
      route("GET", "/v3/jobs/:id", "job", (call) => ({ id: call.job!.id, state: call.job!.state })),
      route("PUT", "/v3/jobs/:id/start", "job", (call) => this.#start(call.job!)),
      route("POST", "/v3/jobs/:id/chunks", "job", (call) => this.#chunk(call)),
      route("POST", "/v3/jobs/:id/header_times", "job", (call) => this.#headerTimes(call)),
      route("PUT", "/v3/jobs/:id/finish", "job", (call) => this.#finish(call)),
      route("POST", "/v3/jobs/:id/annotations", "job", (call) => this.#annotate(call)),
      route("POST", "/v3/jobs/:id/data/set", "job", (call) => this.#setMetaData(call)),
      route("POST", "/v3/jobs/:id/data/get", "job", (call) => this.#getMetaData(call)),
      route("POST", "/v3/jobs/:id/data/exists", "job", (call) => this.#metaDataExists(call)),
      route("POST", "/v3/jobs/:id/data/keys", "job", (call) => [
        ...this.#build(call.job!).metaData.keys(),
      ]),
      route("POST", "/v3/jobs/:id/artifacts", "job", (call) => this.#createArtifacts(call)),
      route("PUT", "/v3/jobs/:id/artifacts", "job", (call) => this.#updateArtifacts(call)),
      route("POST", "/uploads/:upload", "upload", (call) => this.#upload(call)),
    ];
  }

  async #answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      const [route, params] = this.#route(request.method, url);
      const call: Call = { request, url, params, ...this.#authorize(route, request, params) };
      const body = await route.handle(call);
      this.#changed();
      return Response.json(body ?? {}, { status: route.auth === "upload" ? 201 : 200 });
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      this.refusals.push({ method: request.method, path: url.pathname, status, message });
      return Response.json({ message }, { status });
    }
  }

  #route(method: string, url: URL): [Route, Record<string, string | undefined>] {
    for (const route of this.#routes) {
      const match = route.method === method && route.pattern.exec(url);
      if (match) return [route, match.pathname.groups];
    }
    throw new ApiError(404, `no route for ${method} ${url.pathname}`);
  }

  /** The caller a token names, or a 401 saying which token the route wants. */
  #authorize(route: Route, request: Request, params: Call["params"]): Partial<Call> {
    const header = request.headers.get("authorization");
    if (route.auth === "upload") {
      // The upload target stands for S3, which takes the signed form fields and nothing else.
      if (header !== null) throw new ApiError(400, "uploads take no Authorization header");
      return {};
    }
    const token = /^Token (\S+)$/.exec(header ?? "")?.[1];
    const where = `${request.method} ${new URL(request.url).pathname}`;
    if (token === undefined) {
      throw new ApiError(
        401,
        `${where} needs an "Authorization: Token <${route.auth} token>" header`,
      );
    }
    if (route.auth === "registration") {
      if (token !== this.registrationToken) {
        throw new ApiError(401, `${where}: not the agent registration token`);
      }
      return {};
    }
    if (route.auth === "agent") {
      const agent = [...this.#agents.values()].find((agent) => agent.accessToken === token);
      if (!agent) throw new ApiError(401, `${where}: not the access token of a registered agent`);
      return { agent };
    }
    const job = [...this.#jobs.values()].find((job) => job.token === token);
    if (!job) throw new ApiError(401, `${where}: not a job token`);
    if (job.id !== params.id) {
      throw new ApiError(
        401,
        `${where}: the token of job ${job.id} is not valid for job ${params.id}`,
      );
    }
    return { job };
  }

  async #register(call: Call): Promise<unknown> {
    const body = await jsonBody(call.request);
    const agent: Agent = {
      id: crypto.randomUUID(),
      name: stringField(body, "name") || `local-agent-${this.#agents.size + 1}`,
      hostname: stringField(body, "hostname"),
      version: stringField(body, "version"),
      tags: Array.isArray(body.meta_data) ? body.meta_data.map(String) : [],
      state: "registered",
      accessToken: `local-agent-${randomToken()}`,
      ignoredInDispatches: body.ignore_in_dispatches === true,
    };
    this.#agents.set(agent.id, agent);
    return {
      id: agent.id,
      name: agent.name,
      access_token: agent.accessToken,
      meta_data: agent.tags,
      // The agent panics on an interval of 0; one second keeps a test's waits short.
      ping_interval: 1,
      job_status_interval: 1,
      heartbeat_interval: 60,
    };
  }

  #connect(agent: Agent): unknown {
    agent.state = "connected";
    return { id: agent.id, connection_state: agent.state };
  }

  #ping(agent: Agent): unknown {
    const job = [...this.#jobs.values()].find((job) => job.state === "scheduled");
    if (!job || agent.ignoredInDispatches) return {};
    job.agentId = agent.id;
    this.#setState(job, "assigned");
    return { job: { id: job.id, state: job.state } };
  }

  async #heartbeat(call: Call): Promise<unknown> {
    const body = await jsonBody(call.request);
    return { sent_at: stringField(body, "sent_at"), received_at: new Date().toISOString() };
  }

  #accept(call: Call): unknown {
    const job = this.#job(call.params.id!, 404);
    if (job.state !== "assigned" || job.agentId !== call.agent!.id) {
      throw new ApiError(422, `job ${job.id} is ${job.state}, not assigned to ${call.agent!.name}`);
    }
    return this.#handOut(job, call.agent!);
  }

  #acquire(call: Call): unknown {
    const job = this.#job(call.params.id!, 404);
    if (job.state !== "scheduled") {
      throw new ApiError(
        422,
        `job ${job.id} is ${job.state}; only a scheduled job can be acquired`,
      );
    }
    return this.#handOut(job, call.agent!);
  }

  /** The job as `accept` and `acquire` answer it: its final env and its own token. */
  #handOut(job: Job, agent: Agent): unknown {
    job.agentId = agent.id;
    job.token = `bkaj_${randomToken()}`;
    job.env = { ...job.env, ...agentEnv(agent), ...job.callerEnv };
    this.#setState(job, "accepted");
    return {
      id: job.id,
      state: job.state,
      env: job.env,
      token: job.token,
      step: {},
      chunks_max_size_bytes: CHUNKS_MAX_SIZE_BYTES,
      chunks_interval_seconds: 1,
      log_max_size_bytes: LOG_MAX_SIZE_BYTES,
    };
  }

  #disconnect(agent: Agent): unknown {
    agent.state = "disconnected";
    // As on Buildkite, a job handed to an agent that left without accepting it is dispatched again.
    for (const job of this.#jobs.values()) {
      if (job.state === "assigned" && job.agentId === agent.id) this.#setState(job, "scheduled");
    }
    return { id: agent.id, connection_state: agent.state };
  }

  #start(job: Job): unknown {
    // A retried start is harmless; a job canceled before it started starts, then sees its cancel.
    if (!["accepted", "running", "canceling"].includes(job.state)) {
      throw new ApiError(422, `job ${job.id} is ${job.state} and cannot start`);
    }
    if (job.state === "accepted") this.#setState(job, "running");
    if (job.timeoutInMinutes !== undefined && job.timeoutTimer === undefined) {
      // Buildkite, not the agent, keeps the step timeout: the agent only sees the state change.
      job.timeoutTimer = setTimeout(() => {
        if (job.state === "running") this.#setState(job, "timing_out");
      }, job.timeoutInMinutes * this.#minuteMs);
    }
    return { id: job.id, state: job.state };
  }

  async #chunk(call: Call): Promise<unknown> {
    const query = call.url.searchParams;
    const [sequence, offset, size] = ["sequence", "offset", "size"].map((name) => {
      const value = Number(query.get(name));
      if (query.get(name) === null || !Number.isInteger(value) || value < 0) {
        throw new ApiError(400, `chunk query ${name}=${query.get(name)} is not a whole number`);
      }
      return value;
    });
    if (call.request.headers.get("content-encoding") !== "gzip") {
      throw new ApiError(400, "a log chunk must be sent gzip-compressed (Content-Encoding: gzip)");
    }
    const bytes = await gunzip(call.request);
    if (bytes.length !== size) {
      throw new ApiError(400, `chunk ${sequence}: size=${size} but ${bytes.length} bytes arrived`);
    }
    try {
      call.job!.log.add({ sequence, offset, bytes });
    } catch (error) {
      throw new ApiError(422, (error as Error).message);
    }
    return { id: `${call.job!.id}-${sequence}` };
  }

  async #headerTimes(call: Call): Promise<unknown> {
    const body = await jsonBody(call.request);
    if (typeof body.header_times !== "object" || body.header_times === null) {
      throw new ApiError(422, "header_times must be an object of line number to time");
    }
    return {};
  }

  async #finish(call: Call): Promise<unknown> {
    const job = call.job!;
    const body = await jsonBody(call.request);
    if (FINAL_STATES.has(job.state) || job.state === "scheduled" || job.state === "assigned") {
      throw new ApiError(422, `job ${job.id} is ${job.state} and cannot finish`);
    }
    if (typeof body.exit_status !== "string") {
      throw new ApiError(
        422,
        `finish: exit_status ${JSON.stringify(body.exit_status)} is not a string`,
      );
    }
    clearTimeout(job.timeoutTimer);
    job.finish = body as unknown as FinishPayload;
    // `--disconnect-after-job` says so here, then pings once more before it disconnects.
    if (body.ignore_agent_in_dispatches === true) {
      this.#agents.get(job.agentId!)!.ignoredInDispatches = true;
    }
    const ended: Partial<Record<JobState, JobState>> = {
      canceling: "canceled",
      timing_out: "timed_out",
    };
    this.#setState(job, ended[job.state] ?? "finished");
    return { id: job.id, state: job.state };
  }

  async #annotate(call: Call): Promise<unknown> {
    const body = await jsonBody(call.request);
    const annotations = this.#build(call.job!).annotations;
    const context = stringField(body, "context") || "default";
    const existing = annotations.get(context);
    const text = stringField(body, "body");
    annotations.set(context, {
      context,
      style: stringField(body, "style") || existing?.style || "default",
      body: existing && body.append === true ? existing.body + text : text,
      priority: typeof body.priority === "number" ? body.priority : existing?.priority,
      scope: stringField(body, "scope") || existing?.scope,
    });
    return { id: context };
  }

  async #setMetaData(call: Call): Promise<unknown> {
    const body = await jsonBody(call.request);
    const key = requiredKey(body);
    if (typeof body.value !== "string" || body.value === "") {
      throw new ApiError(422, `meta-data ${key}: value must be a non-empty string`);
    }
    this.#build(call.job!).metaData.set(key, body.value);
    return { key, value: body.value };
  }

  async #getMetaData(call: Call): Promise<unknown> {
    const key = requiredKey(await jsonBody(call.request));
    const value = this.#build(call.job!).metaData.get(key);
    // `buildkite-agent meta-data get --default` relies on exactly this 404.
    if (value === undefined) throw new ApiError(404, `no meta-data key "${key}" in this build`);
    return { key, value };
  }

  async #metaDataExists(call: Call): Promise<unknown> {
    const key = requiredKey(await jsonBody(call.request));
    return { exists: this.#build(call.job!).metaData.has(key) };
  }

  async #createArtifacts(call: Call): Promise<unknown> {
    const job = call.job!;
    const body = await jsonBody(call.request);
    if (!Array.isArray(body.artifacts)) throw new ApiError(422, "artifacts must be an array");
    const upload = randomToken();
    const batch: UploadBatch = { jobId: job.id, artifactIds: new Map() };
    for (const item of body.artifacts as Record<string, unknown>[]) {
      const artifact: StoredArtifact = {
        id: crypto.randomUUID(),
        path: stringField(item, "path"),
        absolutePath: stringField(item, "absolute_path"),
        globPath: stringField(item, "glob_path"),
        fileSize: typeof item.file_size === "number" ? item.file_size : -1,
        sha1sum: stringField(item, "sha1sum"),
        sha256sum: stringField(item, "sha256sum"),
        contentType: stringField(item, "content_type"),
        state: "new",
      };
      if (!artifact.path) throw new ApiError(422, "an artifact needs a path");
      job.artifacts.set(artifact.id, artifact);
      batch.artifactIds.set(artifact.path, artifact.id);
    }
    this.#uploads.set(upload, batch);
    return {
      id: stringField(body, "id") || upload,
      artifact_ids: [...batch.artifactIds.values()],
      upload_instructions: {
        data: { key: "${artifact:path}" },
        action: {
          url: this.#origin,
          method: "POST",
          path: `/uploads/${upload}`,
          file_input: "file",
        },
      },
    };
  }

  async #upload(call: Call): Promise<unknown> {
    const batch = this.#uploads.get(call.params.upload!);
    if (!batch) throw new ApiError(404, `no artifact upload ${call.params.upload}`);
    const form = await call.request.formData();
    const key = form.get("key");
    const file = form.get("file");
    if (typeof key !== "string" || !(file instanceof File)) {
      throw new ApiError(400, 'an upload is a multipart form with a "key" field and a "file" file');
    }
    const id = batch.artifactIds.get(key);
    if (id === undefined) throw new ApiError(422, `no artifact ${key} in this upload`);
    const artifact = this.#jobs.get(batch.jobId)!.artifacts.get(id)!;
    const contents = new Uint8Array(await file.arrayBuffer());
    const sha1sum = await sha1(contents);
    if (contents.length !== artifact.fileSize || sha1sum !== artifact.sha1sum) {
      throw new ApiError(
        422,
        `artifact ${key}: announced ${artifact.fileSize} bytes, sha1 ${artifact.sha1sum}; ` +
          `received ${contents.length} bytes, sha1 ${sha1sum}`,
      );
    }
    artifact.contents = contents;
    return {};
  }

  async #updateArtifacts(call: Call): Promise<unknown> {
    const body = await jsonBody(call.request);
    if (!Array.isArray(body.artifacts)) throw new ApiError(422, "artifacts must be an array");
    for (const item of body.artifacts as Record<string, unknown>[]) {
      const artifact = call.job!.artifacts.get(stringField(item, "id"));
      if (!artifact) throw new ApiError(404, `job ${call.job!.id} has no artifact ${item.id}`);
      artifact.state = stringField(item, "state");
    }
    return {};
  }

  #defaultEnv(id: string, options: JobOptions): Record<string, string> {
    const number = ++this.#buildNumber;
    const plugins = options.plugins ?? [];
    return {
      BUILDKITE: "true",
      CI: "true",
      BUILDKITE_JOB_ID: id,
      BUILDKITE_BUILD_ID: crypto.randomUUID(),
      BUILDKITE_BUILD_NUMBER: String(number),
      // On this server, so nothing that follows the link leaves the machine.
      BUILDKITE_BUILD_URL: `${this.#origin}/local/kubernetes-plugin/builds/${number}`,
      BUILDKITE_ORGANIZATION_SLUG: "local",
      BUILDKITE_PIPELINE_SLUG: "kubernetes-plugin",
      BUILDKITE_PIPELINE_NAME: "kubernetes-plugin",
      BUILDKITE_PIPELINE_PROVIDER: "git",
      BUILDKITE_PIPELINE_DEFAULT_BRANCH: "main",
      BUILDKITE_REPO: options.repository,
      BUILDKITE_COMMIT: "HEAD",
      BUILDKITE_BRANCH: "main",
      BUILDKITE_MESSAGE: "A local build",
      BUILDKITE_SOURCE: "api",
      BUILDKITE_STEP_ID: crypto.randomUUID(),
      BUILDKITE_LABEL: "local step",
      BUILDKITE_RETRY_COUNT: "0",
      BUILDKITE_PULL_REQUEST: "false",
      BUILDKITE_COMMAND: options.command ?? "",
      BUILDKITE_TIMEOUT: options.timeoutInMinutes === undefined
        ? "false"
        : String(options.timeoutInMinutes),
      BUILDKITE_ARTIFACT_PATHS: options.artifactPaths ?? "",
      ...(plugins.length > 0 ? { BUILDKITE_PLUGINS: JSON.stringify(plugins) } : {}),
    };
  }

  #job(id: string, status?: number): Job {
    const job = this.#jobs.get(id);
    if (job) return job;
    if (status) throw new ApiError(status, `no job ${id}`);
    throw new Error(`no job ${id} was queued`);
  }

  #build(job: Job): Build {
    return this.#builds.get(job.buildId)!;
  }

  #setState(job: Job, state: JobState): void {
    job.state = state;
    job.history.push(state);
    this.#changed();
  }

  #changed(): void {
    for (const waiter of this.#waiters) {
      try {
        waiter.check();
      } catch (error) {
        waiter.reject(error as Error);
      }
    }
  }

  /** Resolves when `check` is true (it runs after every change), rejects when it throws. */
  #waitFor(check: () => boolean, options: WaitOptions, what: () => string): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          if (!check()) return false;
          settle();
          resolve();
          return true;
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      const timer = setTimeout(
        () => waiter.reject(new Error(`waited ${timeoutMs} ms for ${what()}`)),
        timeoutMs,
      );
      const settle = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
      try {
        waiter.check();
      } catch (error) {
        waiter.reject(error as Error);
      }
    });
  }
}

/** Starts the stand-in on a free port of 127.0.0.1. */
export function serveAgentApi(options: AgentApiOptions = {}): AgentApi {
  return new AgentApi(options);
}

/** What Buildkite adds to a job's env when an agent accepts it. */
function agentEnv(agent: Agent): Record<string, string> {
  const env: Record<string, string> = {
    BUILDKITE_AGENT_ID: agent.id,
    BUILDKITE_AGENT_NAME: agent.name,
  };
  for (const tag of agent.tags) {
    const at = tag.indexOf("=");
    if (at <= 0) continue;
    const key = tag.slice(0, at).toUpperCase().replace(/[^A-Z0-9]/g, "_");
    env[`BUILDKITE_AGENT_META_DATA_${key}`] = tag.slice(at + 1);
  }
  return env;
}

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, `the request body is not JSON: ${(error as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, name: string): string {
  return typeof body[name] === "string" ? body[name] : "";
}

function requiredKey(body: Record<string, unknown>): string {
  const key = stringField(body, "key");
  if (key === "") throw new ApiError(422, "meta-data needs a non-empty key");
  return key;
}

async function gunzip(request: Request): Promise<Uint8Array> {
  try {
    const stream = request.body!.pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new ApiError(400, `the chunk is not valid gzip: ${(error as Error).message}`);
  }
}

async function sha1(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function randomToken(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
