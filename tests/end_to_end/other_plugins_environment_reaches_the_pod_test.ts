/**
 * A step with another plugin before this one, whose `environment` hook exports a variable
 * (as secret-manager plugins do): the variable reaches the step's pod, through the per-step
 * Secret, never in the Job's spec.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { gitRepository } from "../integration/fixtures.ts";
import { scenario } from "./fixtures.ts";

async function environmentPlugin(): Promise<{ source: string; path: string }> {
  const path = await gitRepository({ "README.md": "exports a variable\n" });
  await Deno.mkdir(`${path}/hooks`);
  await Deno.writeTextFile(
    `${path}/hooks/environment`,
    "#!/bin/bash\nexport FROM_ANOTHER_PLUGIN=exported-by-its-environment-hook\n",
    { mode: 0o755 },
  );
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args,
      cwd: path,
      env: {
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@t",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@t",
      },
    }).output();
  await git("add", "-A");
  await git("commit", "-q", "-m", "environment hook");
  const sha = new TextDecoder().decode((await git("rev-parse", "HEAD")).stdout).trim();
  return { source: `file://${path}#${sha}`, path };
}

Deno.test("a variable exported by another plugin's environment hook reaches the pod", async () => {
  await using namespace = await freshNamespace();
  const plugin = await environmentPlugin();
  try {
    await using run = await scenario(namespace.name, {
      plugin: { image: "alpine:3", "init-image": "", "print-resulting-job-spec": true },
      otherPlugins: [{ [plugin.source]: {} }],
      command: 'echo "in the pod: $FROM_ANOTHER_PLUGIN"',
    });
    const { job } = run;
    const finish = await job.ended();
    assert.equal(finish.exit_status, "0", job.log());
    assert.match(job.log(), /\nin the pod: exported-by-its-environment-hook\n/);
    const spec = job.log().slice(0, job.log().indexOf("in the pod: exported"));
    assert.match(spec, /- name: FROM_ANOTHER_PLUGIN\n\s+valueFrom:\n\s+secretKeyRef:/);
    assert.doesNotMatch(spec, /exported-by-its-environment-hook/);
  } finally {
    await Deno.remove(plugin.path, { recursive: true });
  }
});
