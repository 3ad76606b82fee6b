/**
 * Each subcommand loads only what it uses: the modules a command's code imports statically
 * (what `deno info` shows, dynamic imports excluded: those load only when their command
 * runs), pinned here so that a later import cannot undo it silently.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface ModuleInfo {
  specifier: string;
  dependencies?: Dependency[];
}

/** The modules `entry` loads before its first line runs, repository-relative. */
async function staticImports(entry: string): Promise<string[]> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(success, `deno info ${entry}`);
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: ModuleInfo[];
    redirects: Record<string, string>;
  };
  const modules = new Map(info.modules.map((module) => [module.specifier, module]));
  const seen = new Set<string>();
  const pending = [new URL(entry, `file://${ROOT}`).href];
  while (pending.length) {
    const specifier = pending.pop()!;
    const resolved = info.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    for (const dependency of modules.get(resolved)?.dependencies ?? []) {
      if (dependency.code && !dependency.isDynamic) pending.push(dependency.code.specifier);
    }
  }
  return [...seen].map((specifier) => specifier.replace(`file://${ROOT}`, "")).sort();
}

Deno.test("version and help load main.ts, the exit statuses and the version: nothing else", async () => {
  assert.deepEqual(await staticImports("src/main.ts"), [
    "src/exit_status.ts",
    "src/main.ts",
    "src/version.ts",
  ]);
});

Deno.test("cleanup loads no option schema, no YAML, no manifest, no follow loop and no node: module", async () => {
  assert.deepEqual(await staticImports("src/cleanup.ts"), [
    "src/byte_buffer.ts",
    "src/cleanup.ts",
    "src/config/cleanup_options.ts",
    "src/config/metadata.ts",
    "src/config/step_configuration.ts",
    "src/exit_status.ts",
    "src/kube/client.ts",
    "src/kube/http1_stream.ts",
    "src/kube/kubeconfig.ts",
    "src/kube/paths.ts",
    "src/render/names.ts",
    "src/report.ts",
    "src/text.ts",
    "src/version.ts",
    "src/write_behind.ts",
    "src/yaml_reader.ts",
  ]);
});

Deno.test("run loads no node: module (the first one costs a hook process several MiB)", async () => {
  const modules = await staticImports("src/run.ts");
  assert.deepEqual(modules.filter((module) => module.startsWith("node:")), []);
});

Deno.test("run loads no YAML library (only a kubeconfig file or a YAML value loads it) and no jsonnet", async () => {
  const modules = await staticImports("src/run.ts");
  assert.deepEqual(
    modules.filter((module) => /node_modules\/(yaml|js-yaml|@arakoodev)\//.test(module)),
    [],
  );
  assert.ok(modules.includes("src/follow/mod.ts"), modules.join("\n"));
});
