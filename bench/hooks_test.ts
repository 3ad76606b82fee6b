import assert from "node:assert/strict";
import { EXPORTS_FILE_VARIABLE, hookExports, writeHookWrapper } from "./hooks.ts";

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
