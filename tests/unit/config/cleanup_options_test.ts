/**
 * The cleanup reads its few options without the schema: whatever the sources, it reads what
 * the whole configuration reads, and a bad value is an error naming the option and value.
 */
import assert from "node:assert/strict";
import { cleanupOptions } from "../../../src/config/cleanup_options.ts";
import { loadConfiguration } from "../../../src/config/mod.ts";
import { UserError } from "../../../src/exit_status.ts";
import { hookEnv } from "../helpers.ts";

const F = "BUILDKITE_PLUGIN_KUBERNETES_";
const image = { image: "alpine:3" };

const sameAsTheWholeConfiguration: [string, Record<string, string | undefined>][] = [
  ["the defaults", hookEnv(image)],
  [
    "the step's own values",
    hookEnv({ ...image, namespace: "ci", "jobs-cleanup-via-plugin": false }),
  ],
  [
    "agent-wide variables",
    hookEnv(image, {
      [`${F}NAMESPACE`]: "agents",
      [`${F}JOB_CLEANUP_AFTER_FINISHED_VIA_PLUGIN`]: "false",
      [`${F}JOBS_CLEANUP_VIA_PLUGIN`]: "FALSE",
    }),
  ],
  [
    "the step's values over agent-wide ones",
    hookEnv({ ...image, namespace: "ci", "job-cleanup-after-finished-via-plugin": true }, {
      [`${F}NAMESPACE`]: "agents",
      [`${F}JOB_CLEANUP_AFTER_FINISHED_VIA_PLUGIN`]: "false",
    }),
  ],
  [
    "the step's entry in BUILDKITE_PLUGINS",
    {
      ...hookEnv(undefined),
      BUILDKITE_PLUGINS: JSON.stringify([{
        "muhlba91/kubernetes#v2.0.0": { ...image, "jobs-cleanup-via-plugin": false },
      }]),
    },
  ],
];
for (const [name, env] of sameAsTheWholeConfiguration) {
  Deno.test(`cleanup options as the whole configuration reads them: ${name}`, () => {
    const { options, step } = loadConfiguration(env);
    assert.deepEqual(cleanupOptions(env), {
      namespace: options.namespace,
      "job-cleanup-after-finished-via-plugin": options["job-cleanup-after-finished-via-plugin"],
      "jobs-cleanup-via-plugin": options["jobs-cleanup-via-plugin"],
      jobId: step.jobId,
    });
  });
}

const bad: [string, Record<string, string | undefined>, RegExp][] = [
  [
    "a flag that is not a boolean",
    hookEnv(image, { [`${F}JOBS_CLEANUP_VIA_PLUGIN`]: "yes" }),
    /option `jobs-cleanup-via-plugin` \(from BUILDKITE_PLUGIN_KUBERNETES_JOBS_CLEANUP_VIA_PLUGIN\): "yes" is not true or false/,
  ],
  [
    "a namespace that is no namespace name",
    hookEnv({ ...image, namespace: "Not_A_Namespace" }),
    /option `namespace` \(from the step's plugin configuration\): "Not_A_Namespace" must be a namespace name/,
  ],
];
for (const [name, env, message] of bad) {
  Deno.test(`cleanup options: ${name} is an error naming the option and value`, () => {
    assert.throws(
      () => cleanupOptions(env),
      (error: unknown) => error instanceof UserError && message.test(error.message),
    );
  });
}
