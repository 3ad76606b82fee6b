/**
 * The flags `deno task compile` gives the program in the image, read from `deno.json`: the
 * integration tests and the benchmark run `deno run` with them, and the hook shim's source
 * fallback must use the same runtime flags, so that what they check and measure is what the
 * compiled program does.
 *
 * @module
 */

/** This repository's compile task: its command line. */
function compileTask(): string {
  const denoJson = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  return denoJson.tasks.compile as string;
}

/** Whether `word` changes how the program runs rather than what it may do. */
function isRuntimeFlag(word: string): boolean {
  return word === "--no-code-cache" || word.startsWith("--v8-flags=");
}

/**
 * The compile task's permissions (`--allow-*`) and runtime flags (`--no-code-cache`,
 * `--v8-flags=`): with these, a missing permission fails in the tests rather than in
 * production.
 */
export function compiledRunFlags(): string[] {
  return compileTaskRunFlags(compileTask());
}

/**
 * The permissions and runtime flags of a `deno compile` command line: a deno.json compile
 * task, this repository's or a checkout's at another commit (the benchmark's `--before`).
 */
export function compileTaskRunFlags(compileTask: string): string[] {
  return compileTask.split(/\s+/).filter((word) =>
    word.startsWith("--allow-") || isRuntimeFlag(word)
  );
}

/** The compile task's runtime flags alone: what the hook shim adds to `--allow-all`. */
export function compiledRuntimeFlags(): string[] {
  return compileTask().split(/\s+/).filter(isRuntimeFlag);
}
