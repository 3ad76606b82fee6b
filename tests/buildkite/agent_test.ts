/**
 * The real `buildkite-agent start` against the stand-in, running jobs on this machine (no
 * Kubernetes): what a user would see in Buildkite for a plain command, a cancel, a step
 * timeout and a plugin cloned from a local repository.
 */
import assert from "node:assert/strict";
import { type AgentApi, serveAgentApi } from "./agent_api.ts";
import { startAgent } from "./agent.ts";

/** A git repository of `files` in a temporary directory named `name`; removed on dispose. */
async function gitRepository(
  name: string,
  files: Record<string, string>,
): Promise<{ path: string; sha: string } & AsyncDisposable> {
  const parent = await Deno.makeTempDir({ prefix: "agent-test-" });
  const path = `${parent}/${name}`;
  for (const [file, text] of Object.entries(files)) {
    await Deno.mkdir(`${path}/${file}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${path}/${file}`, text, { mode: 0o755 });
  }
  const git = async (...args: string[]) => {
    const { success, stdout, stderr } = await new Deno.Command("git", {
      args,
      cwd: path,
      env: {
        GIT_AUTHOR_NAME: "test",
        GIT_AUTHOR_EMAIL: "test@localhost",
        GIT_COMMITTER_NAME: "test",
        GIT_COMMITTER_EMAIL: "test@localhost",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
    return new TextDecoder().decode(stdout).trim();
  };
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "A commit to check out");
  return {
    path,
    sha: await git("rev-parse", "HEAD"),
    [Symbol.asyncDispose]: () => Deno.remove(parent, { recursive: true }),
  };
}

function checkout(): ReturnType<typeof gitRepository> {
  return gitRepository("repository", { "README.md": "# checked out by the agent\n" });
}

/** The log's lines that are exactly `line`. */
function linesEqual(log: string, line: string): number[] {
  return log.split("\n").flatMap((text, index) => text === line ? [index] : []);
}

async function agentDisconnected(api: AgentApi, status: Promise<Deno.CommandStatus>) {
  assert.equal((await status).code, 0);
  assert.deepEqual(api.agents().map((agent) => agent.state), ["disconnected"]);
}

Deno.test("a plain command's output, meta-data, annotation and exit status reach Buildkite", async () => {
  await using api = serveAgentApi();
  await using repository = await checkout();
  const id = api.queueJob({
    repository: repository.path,
    command: "echo first; echo second; buildkite-agent meta-data set k v; " +
      "buildkite-agent annotate hi; exit 3",
  });
  await using agent = await startAgent(api);
  await api.waitForState(id, "finished", { timeoutMs: 60_000 });

  assert.equal(api.finish(id)?.exit_status, "3");
  assert.equal(api.finish(id)?.chunks_failed_count, 0);
  const log = api.log(id);
  const [first, second] = [linesEqual(log, "first"), linesEqual(log, "second")];
  assert.equal(first.length, 1, `"first" once in:\n${log}`);
  assert.equal(second.length, 1, `"second" once in:\n${log}`);
  assert.ok(first[0] < second[0], `"first" before "second" in:\n${log}`);
  assert.equal(api.metaData(id).k, "v");
  assert.deepEqual(api.annotations(id).map(({ context, body }) => ({ context, body })), [
    { context: "default", body: "hi" },
  ]);
  await agentDisconnected(api, agent.status);
  assert.deepEqual(api.refusals, []);
});

Deno.test("the step's artifacts are uploaded by the agent and read back byte for byte", async () => {
  await using api = serveAgentApi();
  await using repository = await checkout();
  const id = api.queueJob({
    repository: repository.path,
    command: "mkdir -p out && echo 42 > out/report.txt && printf 'a\\nb' > out/two.txt",
    artifactPaths: "out/*.txt",
  });
  await using agent = await startAgent(api);
  await api.waitForState(id, "finished", { timeoutMs: 60_000 });

  const uploaded = api.artifacts(id).map(({ path, state, contents }) => ({
    path,
    state,
    text: contents && new TextDecoder().decode(contents),
  })).sort((a, b) => a.path.localeCompare(b.path));
  assert.deepEqual(uploaded, [
    { path: "out/report.txt", state: "finished", text: "42\n" },
    { path: "out/two.txt", state: "finished", text: "a\nb" },
  ]);
  assert.equal(api.finish(id)?.exit_status, "0");
  await agentDisconnected(api, agent.status);
  assert.deepEqual(api.refusals, []);
});

Deno.test("an agent left to stream pings falls back to polling and runs the job", async () => {
  await using api = serveAgentApi();
  await using repository = await checkout();
  const id = api.queueJob({ repository: repository.path, command: "echo polled" });
  // The later flag wins over the helper's `--ping-mode poll-only`.
  await using agent = await startAgent(api, { args: ["--ping-mode", "auto"] });
  await api.waitForState(id, "finished", { timeoutMs: 60_000 });

  assert.equal(linesEqual(api.log(id), "polled").length, 1, api.log(id));
  assert.deepEqual(api.refusals.map(({ method, path, status }) => ({ method, path, status })), [
    { method: "POST", path: "/agentedge.v1.AgentEdgeService/StreamPings", status: 404 },
  ]);
  await agentDisconnected(api, agent.status);
});

Deno.test("two jobs queued at once: each agent runs one and leaves the other queued", async () => {
  await using api = serveAgentApi();
  await using repository = await checkout();
  const ids = ["one", "two"].map((word) =>
    api.queueJob({ repository: repository.path, command: `echo job ${word}` })
  );
  {
    await using first = await startAgent(api, { name: "first" });
    await api.waitForState(ids[0], "finished", { timeoutMs: 60_000 });
    assert.equal((await first.status).code, 0);
  }
  assert.equal(api.state(ids[1]), "scheduled");
  await using second = await startAgent(api, { name: "second" });
  await api.waitForState(ids[1], "finished", { timeoutMs: 60_000 });
  assert.equal((await second.status).code, 0);
  assert.deepEqual(ids.map((id) => api.env(id).BUILDKITE_AGENT_NAME), ["first", "second"]);
  assert.equal(linesEqual(api.log(ids[1]), "job two").length, 1, api.log(ids[1]));
});

Deno.test("a canceled job's finish carries the signal within the cancel grace period", async () => {
  const graceSeconds = 10;
  await using api = serveAgentApi();
  await using repository = await checkout();
  const id = api.queueJob({ repository: repository.path, command: "echo started; sleep 300" });
  await using agent = await startAgent(api, { cancelGracePeriodSeconds: graceSeconds });
  await api.waitForLog(id, /^started$/m, { timeoutMs: 60_000 });

  const canceledAt = performance.now();
  api.cancel(id);
  await api.waitForState(id, "canceled", { timeoutMs: graceSeconds * 1000 });
  const elapsed = performance.now() - canceledAt;

  assert.ok(elapsed < graceSeconds * 1000, `finished ${elapsed} ms after the cancel`);
  const { exit_status, signal, signal_reason } = api.finish(id)!;
  assert.deepEqual({ exit_status, signal, signal_reason }, {
    exit_status: "-1",
    signal: "SIGTERM",
    signal_reason: "cancel",
  });
  await agentDisconnected(api, agent.status);
});

Deno.test("a step past its timeout is stopped by the agent, and hooks see it timed out", async () => {
  // One "minute" of the step timeout lasts two seconds here.
  await using api = serveAgentApi({ minuteMs: 2_000 });
  await using repository = await checkout();
  const id = api.queueJob({
    repository: repository.path,
    command: "echo started; sleep 300",
    timeoutInMinutes: 1,
  });
  await using agent = await startAgent(api, {
    hooks: { "post-command": 'echo "timed out: ${BUILDKITE_JOB_TIMED_OUT:-no}"\n' },
  });
  await api.waitForState(id, "timed_out", { timeoutMs: 60_000 });

  assert.equal(linesEqual(api.log(id), "timed out: true").length, 1, api.log(id));
  assert.equal(api.finish(id)?.signal, "SIGTERM");
  assert.equal(api.env(id).BUILDKITE_TIMEOUT, "1");
  await agentDisconnected(api, agent.status);
});

Deno.test("a plugin cloned from a file:// repository runs its command hook with its configuration", async () => {
  await using api = serveAgentApi();
  await using repository = await checkout();
  await using plugin = await gitRepository("greeter-buildkite-plugin", {
    "hooks/command": 'echo "greeting: ${BUILDKITE_PLUGIN_GREETER_WORD}${GREETER_SUFFIX}"\n',
  });
  const id = api.queueJob({
    repository: repository.path,
    command: "echo the step command; exit 9",
    plugins: [{ [`file://${plugin.path}#${plugin.sha}`]: { word: "hello" } }],
  });
  await using agent = await startAgent(api, { env: { GREETER_SUFFIX: "!" } });
  await api.waitForState(id, "finished", { timeoutMs: 60_000 });

  const log = api.log(id);
  assert.equal(linesEqual(log, "greeting: hello!").length, 1, log);
  assert.equal(linesEqual(log, "the step command").length, 0, log);
  assert.equal(api.finish(id)?.exit_status, "0");
  await agentDisconnected(api, agent.status);
});

Deno.test("an agent disposed of mid-job stops the job as agent_stop and leaves no process", async () => {
  await using api = serveAgentApi();
  await using repository = await checkout();
  const id = api.queueJob({
    repository: repository.path,
    command: 'sleep 300 & echo "sleeping as $!"; wait',
  });
  let sleeper: number;
  {
    await using _agent = await startAgent(api);
    const log = await api.waitForLog(id, /^sleeping as \d+$/m, { timeoutMs: 60_000 });
    sleeper = Number(/^sleeping as (\d+)$/m.exec(log)![1]);
    assert.ok(await isRunning(sleeper), "the command runs before the dispose");
  }
  assert.equal(await isRunning(sleeper), false, `sleep (pid ${sleeper}) outlived the agent`);
  assert.equal(api.state(id), "finished");
  assert.equal(api.finish(id)?.signal_reason, "agent_stop");
});

async function isRunning(pid: number): Promise<boolean> {
  try {
    return !/\) Z /.test(await Deno.readTextFile(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}
