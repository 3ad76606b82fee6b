/**
 * The plugin's one program. The hooks call it:
 *
 * - `run`: the `command` hook: render → submit → follow → verdict → cleanup (on cancel too).
 * - `cleanup`: the `pre-exit` hook: delete this step's Job and old ones.
 * - `render [--output yaml|json]`: print the objects a step would create, without a cluster.
 * - `version`: print the version.
 *
 * Each command loads only what it uses (`version` and `help` nothing more than this module):
 * the rest is imported when its command runs. `tests/unit/module_graph_test.ts` pins it.
 *
 * @module
 */
import { EXIT, UserError } from "./exit_status.ts";
import { VERSION } from "./version.ts";

const USAGE = `usage: kubernetes-buildkite-plugin <command>

commands:
  run                          run the step as a Kubernetes Job (the command hook)
  cleanup                      delete the step's Job and old ones (the pre-exit hook)
  render [--output yaml|json]  print the objects the step would create, secrets redacted
  version                      print the version

Configuration comes from the environment a Buildkite hook runs in: BUILDKITE_PLUGIN_CONFIGURATION,
BUILDKITE_PLUGIN_KUBERNETES_* and the job's BUILDKITE_* variables.`;

type Env = Record<string, string | undefined>;

/** `render`: the objects of the step described by `env`, as YAML documents or a JSON List. */
export async function render(env: Env, output: "yaml" | "json"): Promise<string> {
  const [{ loadStepConfiguration }, { renderStep }, { renderedYaml }] = await Promise.all([
    import("./config/mod.ts"),
    import("./render/mod.ts"),
    import("./render/yaml.ts"),
  ]);
  const config = await loadStepConfiguration(env);
  for (const warning of config.warnings) console.error(`kubernetes plugin: warning: ${warning}`);
  if (config.options["use-agent-node-affinity"]) {
    console.error(
      "kubernetes plugin: use-agent-node-affinity: affinity, tolerations and nodeSelector are copied from the agent's pod at run time",
    );
  }
  const rendered = await renderStep(config, { redact: true });
  if (output === "yaml") return renderedYaml(rendered);
  const items = rendered.secret ? [rendered.job, rendered.secret] : [rendered.job];
  return JSON.stringify({ apiVersion: "v1", kind: "List", items }, null, 2) + "\n";
}

/**
 * Starts the one-time set-up of the TLS library's random generator on a thread of its own, to
 * run while this one loads the command's modules and reads its configuration. Deno's TLS
 * (rustls on AWS-LC) seeds that generator from CPU jitter the first time a process needs
 * randomness (aws/aws-lc-rs#899): about 20 ms of CPU, which would otherwise hold up the first
 * request, and with it the pre-exit hook's whole run and the command hook's creation of the
 * Job (16 ms sooner with it, median of 30 paired runs). WebCrypto's key generation draws on
 * the same generator, and runs off the main thread.
 */
function startTlsSetUp(): void {
  crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
    .catch(() => {});
}

async function main(argv: string[], env: Env): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "render": {
      const [{ parseArgs }, { default: process }] = await Promise.all([
        import("node:util"),
        import("node:process"),
      ]);
      let values: { output?: string };
      try {
        ({ values } = parseArgs({
          args: rest,
          options: { output: { type: "string", short: "o", default: "yaml" } },
        }));
      } catch (error) {
        throw new UserError(`render: ${(error as Error).message}\n\n${USAGE}`, 2);
      }
      if (values.output !== "yaml" && values.output !== "json") {
        throw new UserError(
          `render: --output must be yaml or json, got ${JSON.stringify(values.output)}\n\n${USAGE}`,
          2,
        );
      }
      process.stdout.write(await render(env, values.output));
      return 0;
    }
    case "run": {
      startTlsSetUp();
      const { run } = await import("./run.ts");
      return await run(env);
    }
    case "cleanup": {
      startTlsSetUp();
      const { cleanup } = await import("./cleanup.ts");
      return await cleanup(env);
    }
    case "version":
    case "--version":
      console.log(VERSION);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`kubernetes plugin: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  let status: number;
  try {
    status = await main(Deno.args, Deno.env.toObject());
  } catch (error) {
    if (error instanceof UserError) {
      console.error(`kubernetes plugin: ${error.message}`);
      status = error.exitStatus;
    } else {
      console.error("kubernetes plugin: internal error:", error);
      status = EXIT.internal.code;
    }
  }
  Deno.exit(status);
}
