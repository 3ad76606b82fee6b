/**
 * The step's command is shell text, as on any agent: `$$` is the shell's pid and
 * `$(...)` is the shell's, even though the kubelet expands `$(NAME)` and `$$` in a
 * container's args.
 */
import assert from "node:assert/strict";
import { freshNamespace } from "../cluster/testing.ts";
import { stepJobName } from "./fixtures.ts";
import { runStep } from "./step_runner.ts";

Deno.test("the command reaches the shell as written: $$ and $(NAME) are the shell's", async () => {
  await using namespace = await freshNamespace();
  const result = await runStep({
    namespace: namespace.name,
    plugin: { image: "alpine:3", "init-image": "" },
    command: [
      "echo '$(BUILDKITE_JOB_ID) $$ $(BUILDKITE_PIPELINE_SLUG)'",
      'case "$$" in *[!0-9]*) echo "not a pid: $$" ;; *) echo "a pid" ;; esac',
      'echo "$(echo substituted by the shell)"',
    ].join("\n"),
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.equal(
    result.stdout,
    `~~~ :kubernetes: Creating Job ${namespace.name}/${stepJobName(result.jobId)}\n` +
      "+++ :kubernetes: alpine:3\n" +
      "$(BUILDKITE_JOB_ID) $$ $(BUILDKITE_PIPELINE_SLUG)\n" +
      "a pid\n" +
      "substituted by the shell\n",
  );
});
