import assert from "node:assert/strict";
import { MEMORY_CONTROLLER } from "../cgroups.ts";
import { ContainerLog, readContainerLog } from "./container_log.ts";
import { type ContainerSpec, startContainer } from "./container_runtime.ts";

async function withContainerDir(body: (dir: string, cgroup: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kbk-runtime-test-" });
  const cgroup = `${MEMORY_CONTROLLER}/kbk-runtime-test-${crypto.randomUUID()}`;
  try {
    await body(dir, cgroup);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function spec(
  dir: string,
  cgroup: string,
  overrides: Partial<ContainerSpec>,
): Promise<ContainerSpec> {
  return {
    dir: `${dir}/c`,
    argv: ["true"],
    env: new Map([["PATH", "/usr/bin:/bin"]]),
    workingDir: "/",
    hostname: "pod-a",
    mounts: [],
    cgroup,
    log: await ContainerLog.create(`${dir}/log`),
    ...overrides,
  };
}

async function logText(log: ContainerLog): Promise<string> {
  await log.close();
  const stream = readContainerLog(
    log,
    { follow: false, timestamps: false, stream: "All" },
    new AbortController().signal,
  );
  return await new Response(stream).text();
}

Deno.test("a container runs in its own root with its mounts, hostname and env", async () => {
  await withContainerDir(async (dir, cgroup) => {
    await Deno.mkdir(`${dir}/volume`);
    await Deno.writeTextFile(`${dir}/volume/in`, "from volume\n");
    const marker = `/etc/kbk-runtime-test-${crypto.randomUUID()}`;
    const container = await spec(dir, cgroup, {
      argv: [
        "sh",
        "-c",
        `cat in; hostname; echo "$GREETING"; pwd; touch ${marker} && echo created; echo oops >&2; exit 3`,
      ],
      env: new Map([["PATH", "/usr/bin:/bin"], ["GREETING", "hello"]]),
      workingDir: "/var/run/kbk-data",
      mounts: [{ source: `${dir}/volume`, target: "/var/run/kbk-data", readOnly: true }],
    });
    const result = await startContainer(container);
    assert.ok(result.started);
    const exit = await result.container.exited;
    assert.equal(exit.exitCode, 3);
    assert.equal(exit.oomKilled, false);
    const output = await logText(container.log);
    assert.equal(
      output.split("\n").filter((line) => line !== "oops").join("\n"),
      "from volume\npod-a\nhello\n/run/kbk-data\ncreated\n",
    );
    assert.match(output, /oops/);
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
    await assert.rejects(Deno.stat("/run/kbk-data"), Deno.errors.NotFound);
  });
});

Deno.test("a command is looked up as a file in PATH, even a shell builtin's name", async () => {
  await withContainerDir(async (dir, cgroup) => {
    const result = await startContainer(await spec(dir, cgroup, { argv: ["true"] }));
    assert.ok(result.started);
    assert.equal((await result.container.exited).exitCode, 0);
  });
});

Deno.test("a missing command is a start error with runc's message", async () => {
  await withContainerDir(async (dir, cgroup) => {
    const result = await startContainer(await spec(dir, cgroup, { argv: ["no-such-command"] }));
    assert.deepEqual(
      result.started ? "started" : result.message,
      'unable to start container process: exec: "no-such-command": executable file not found in $PATH',
    );
  });
});

Deno.test("a missing mount source is a start error, not a crash", async () => {
  await withContainerDir(async (dir, cgroup) => {
    const result = await startContainer(
      await spec(dir, cgroup, {
        mounts: [{ source: `${dir}/absent`, target: "/entrypoint.sh", readOnly: true }],
      }),
    );
    assert.equal(
      result.started ? "started" : result.message,
      `failed to create container: mount source ${dir}/absent (for /entrypoint.sh): ` +
        "no such file or directory",
    );
  });
});

Deno.test("stopping a container signals its group and reports 128 + signal", async () => {
  await withContainerDir(async (dir, cgroup) => {
    const result = await startContainer(await spec(dir, cgroup, { argv: ["sleep", "300"] }));
    assert.ok(result.started);
    const exit = await result.container.stop(5_000);
    assert.equal(exit.exitCode, 143);
    assert.equal(exit.signal, 15);
  });
});

Deno.test("a container over its memory limit is OOM-killed", async () => {
  await withContainerDir(async (dir, cgroup) => {
    const result = await startContainer(
      await spec(dir, cgroup, {
        argv: ["sh", "-c", "head -c 200000000 /dev/zero | tail > /dev/null"],
        memoryLimitBytes: 32 * 2 ** 20,
      }),
    );
    assert.ok(result.started);
    const exit = await result.container.exited;
    assert.equal(exit.oomKilled, true);
    assert.notEqual(exit.exitCode, 0);
  });
});
