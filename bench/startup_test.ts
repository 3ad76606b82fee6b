import assert from "node:assert/strict";
import { VERSION } from "../src/version.ts";
import { startupErrors, type StartupProgram } from "./startup.ts";

const cases: { program: StartupProgram; status: number; output: string; errors: string[] }[] = [
  { program: "empty", status: 0, output: "", errors: [] },
  { program: "empty", status: 0, output: "Download …\n", errors: ["printed something"] },
  { program: "version", status: 0, output: `${VERSION}\n`, errors: [] },
  { program: "version", status: 1, output: "", errors: ["exited 1", `did not print ${VERSION}`] },
  {
    program: "--help",
    status: 0,
    output: "usage: kubernetes-buildkite-plugin <command>\n",
    errors: [],
  },
  {
    program: "--help",
    status: 2,
    output: "usage: kubernetes-buildkite-plugin\n",
    errors: ["exited 2"],
  },
  { program: "cleanup", status: 0, output: "~~~ :kubernetes: Cleanup\n", errors: [] },
  {
    program: "cleanup",
    status: 0,
    output:
      "~~~ :kubernetes: Cleanup\nkubernetes plugin: could not clean up the step's Job: refused\n",
    errors: ["reported something (see its output)"],
  },
  { program: "render", status: 0, output: "apiVersion: batch/v1\nkind: Job\n", errors: [] },
  {
    program: "render",
    status: 78,
    output: "kubernetes plugin: option `image` is required\n",
    errors: ["exited 78", "rendered no Job"],
  },
];
for (const { program, status, output, errors } of cases) {
  Deno.test(`startupErrors: ${program} exiting ${status} with ${JSON.stringify(output)}`, () => {
    assert.deepEqual(startupErrors(program, status, output), errors);
  });
}
