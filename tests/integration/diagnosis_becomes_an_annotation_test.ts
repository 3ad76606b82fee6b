/**
 * An infrastructure failure's diagnosis also becomes a build annotation, through
 * `buildkite-agent annotate` (here a stand-in that records what it was given).
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { runStep } from "./step_runner.ts";

Deno.test("an image that cannot be pulled: its diagnosis is annotated on the build", async () => {
  await using namespace = await freshNamespace();
  const bin = await Deno.makeTempDir({ prefix: "kbk-fake-agent-" });
  await Deno.writeTextFile(
    `${bin}/buildkite-agent`,
    `#!/bin/sh\nprintf '%s\\n' "$*" > "${bin}/args"\ncat > "${bin}/stdin"\necho "$BUILDKITE_AGENT_ACCESS_TOKEN" > "${bin}/token"\n`,
  );
  await Deno.chmod(`${bin}/buildkite-agent`, 0o755);
  const result = await runStep({
    namespace: namespace.name,
    plugin: { "image": "registry.invalid/nothing:1", "init-image": "", "image-pull-grace": 1 },
    command: "true",
    env: { BUILDKITE_BIN_PATH: bin, BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
  });
  assert.equal(result.status, 91, result.stdout + result.stderr);
  assert.equal(
    await Deno.readTextFile(`${bin}/args`),
    `annotate --style error --context kubernetes-${result.jobId}\n`,
  );
  assert.equal(await Deno.readTextFile(`${bin}/token`), "job-token\n");
  const markdown = await Deno.readTextFile(`${bin}/stdin`);
  assert.match(
    markdown,
    /^\*\*:kubernetes: The image of container "step" could not be pulled for \d+s \((ErrImagePull|ImagePullBackOff)\)\.\*\*\n\n```\n/,
  );
  assert.match(markdown, /image: registry\.invalid\/nothing:1\n/);
  assert.match(markdown, /recent events:\n.*Failed/s);
  assert.equal(result.stdout.includes("could not add the build annotation"), false);
  await Deno.remove(bin, { recursive: true });
});

Deno.test("an annotation that cannot be made is reported, and changes nothing else", async () => {
  await using namespace = await freshNamespace();
  const bin = await Deno.makeTempDir({ prefix: "kbk-fake-agent-" });
  await Deno.writeTextFile(
    `${bin}/buildkite-agent`,
    "#!/bin/sh\necho 'POST annotations: 401 Unauthorized' >&2\nexit 1\n",
  );
  await Deno.chmod(`${bin}/buildkite-agent`, 0o755);
  const result = await runStep({
    namespace: namespace.name,
    plugin: { "image": "UPPER/Case::x", "init-image": "" },
    command: "true",
    env: { BUILDKITE_BIN_PATH: bin, BUILDKITE_AGENT_ACCESS_TOKEN: "job-token" },
  });
  assert.equal(result.status, 92, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    /kubernetes plugin: could not add the build annotation \(exit 1: POST annotations: 401 Unauthorized\)\n/,
  );
  await Deno.remove(bin, { recursive: true });
});
