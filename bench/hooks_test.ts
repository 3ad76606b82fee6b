import assert from "node:assert/strict";
import { beforePlugin, EXPORTS_FILE_VARIABLE, hookExports, writeHookWrapper } from "./hooks.ts";

Deno.test("a hook wrapper hands what its hook exported or changed to the job's later hooks, as the agent does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kbk-bench-hooks-" });
  try {
    await Deno.mkdir(`${dir}/plugin/hooks`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/plugin/hooks/command`,
      '#!/bin/bash\nexport CLEANED="job 1"\nexport CHANGED=after\nUNEXPORTED=x\n(exit 3)\n',
    );
    const wrapper = await writeHookWrapper(
      dir,
      { name: "ours", dir: `${dir}/plugin`, env: {} },
      "command",
    );
    const file = `${dir}/exports`;
    const env = { PATH: "/usr/bin:/bin", CHANGED: "before", KEPT: "same" };
    const { code } = await new Deno.Command(wrapper, {
      env: { ...env, [EXPORTS_FILE_VARIABLE]: file },
      clearEnv: true,
    }).output();
    assert.equal(code, 3, "the hook's status is the wrapper's");
    assert.deepEqual(await hookExports(env, file), { CLEANED: "job 1", CHANGED: "after" });
    assert.deepEqual(await hookExports(env, `${dir}/none`), {}, "no file, nothing carried");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const COMPILE_TASK =
  "env deno compile --allow-env --allow-read --allow-net --v8-flags=--max-semi-space-size=2 " +
  "--output dist/kubernetes-buildkite-plugin src/main.ts";

/** A checkout of this plugin as `--before` expects it, less what `leave` names. */
async function writeCheckout(
  dir: string,
  leave: { files?: string[]; denoJson?: unknown; zod?: string },
) {
  const files: Record<string, string> = {
    "src/main.ts": "",
    "hooks/command": "#!/bin/bash\n",
    "hooks/pre-exit": "#!/bin/bash\n",
    "deno.json": JSON.stringify(leave.denoJson ?? { tasks: { compile: COMPILE_TASK } }),
    "package.json": JSON.stringify({ dependencies: { zod: "4.6.7", yaml: "^2.9.1" } }),
    "node_modules/zod/package.json": JSON.stringify({ version: leave.zod ?? "4.6.7" }),
    "node_modules/yaml/package.json": JSON.stringify({ version: "2.9.4" }),
  };
  for (const [path, text] of Object.entries(files)) {
    if (leave.files?.some((left) => path === left || path.startsWith(`${left}/`))) continue;
    await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
}

const badCheckouts: { name: string; leave: Parameters<typeof writeCheckout>[1]; error: RegExp }[] =
  [
    {
      name: "no program",
      leave: { files: ["src/main.ts"] },
      error: /: src\/main\.ts is missing; give a checkout of this plugin at an earlier commit/,
    },
    {
      name: "no command hook",
      leave: { files: ["hooks/command"] },
      error: /: hooks\/command is missing/,
    },
    {
      name: "no pre-exit hook",
      leave: { files: ["hooks/pre-exit"] },
      error: /: hooks\/pre-exit is missing/,
    },
    { name: "no deno.json", leave: { files: ["deno.json"] }, error: /: deno\.json is missing/ },
    {
      name: "no compile task",
      leave: { denoJson: { tasks: { test: "deno test" } } },
      error: /: deno\.json has no compile task/,
    },
    {
      name: "no node_modules",
      leave: { files: ["node_modules"] },
      error:
        /: node_modules is missing, and its program runs with its own dependencies; .*npm ci there/,
    },
    {
      name: "a dependency not installed",
      leave: { files: ["node_modules/zod"] },
      error: /: node_modules has no zod, which its package.json needs/,
    },
    {
      name: "a dependency at another version",
      leave: { zod: "4.6.0" },
      error: /: node_modules has zod 4\.6\.0, its package\.json pins 4\.6\.7/,
    },
  ];
for (const { name, leave, error } of badCheckouts) {
  Deno.test(`--before refuses a checkout with ${name}, naming what is missing`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "kbk-bench-before-" });
    try {
      await writeCheckout(`${dir}/before`, leave);
      await assert.rejects(beforePlugin(`${dir}/before`, dir), (thrown: Error) => {
        assert.ok(thrown.message.startsWith(`--before ${dir}/before: `), thrown.message);
        assert.match(thrown.message, error);
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("--before refuses a path that is no directory", async () => {
  await assert.rejects(
    beforePlugin("/nonexistent/before", "/tmp"),
    /--before \/nonexistent\/before: no such directory$/,
  );
});

Deno.test("--before runs the checkout's own program with its own compile task's flags, by this Deno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kbk-bench-before-" });
  try {
    await writeCheckout(`${dir}/before`, {});
    const plugin = await beforePlugin(`${dir}/before`, dir);
    assert.equal(plugin.name, "before");
    assert.equal(plugin.dir, await Deno.realPath(`${dir}/before`));
    const program = plugin.env.BUILDKITE_KUBERNETES_PLUGIN_PROGRAM;
    assert.equal(program, `${dir}/kubernetes-buildkite-plugin-before`);
    assert.equal(
      await Deno.readTextFile(program),
      `#!/bin/sh\nexec "${Deno.execPath()}" run --quiet --allow-env --allow-read --allow-net ` +
        `--v8-flags=--max-semi-space-size=2 "${plugin.dir}/src/main.ts" "$@"\n`,
    );
    assert.equal((await Deno.stat(program)).mode! & 0o111, 0o111, "executable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
