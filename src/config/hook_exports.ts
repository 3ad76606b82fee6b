/**
 * Variables that hooks exported before the command hook (a secrets plugin's `environment`
 * hook, the agent's own `environment` hook): they are in the hook's environment but in none
 * of the agent's job environment files, which are written before any hook runs. The hook
 * shim (`hooks/lib/program.bash`) tells them apart from the agent's own environment by the
 * environment `buildkite-agent bootstrap` started with, and names them in
 * `BUILDKITE_KUBERNETES_PLUGIN_HOOK_EXPORTS` (this program may not read another process's
 * `/proc` entries).
 *
 * @module
 */
/**
 * What the shell that runs a hook sets for itself, and what describes the agent's machine
 * (a PATH or ssh-agent socket changed there means nothing in the pod): never passed on.
 */
const NOT_PASSED_ON = new Set([
  "_",
  "PWD",
  "OLDPWD",
  "SHLVL",
  "COLUMNS",
  "LINES",
  "PATH",
  "HOME",
  "HOSTNAME",
  "SHELL",
  "USER",
  "LOGNAME",
  "TERM",
  "TMPDIR",
  "SSH_AUTH_SOCK",
  "SSH_AGENT_PID",
  "KUBECONFIG",
]);

/** Where the hook shim names the variables hooks exported, separated by spaces. */
export const HOOK_EXPORTS_VARIABLE = "BUILDKITE_KUBERNETES_PLUGIN_HOOK_EXPORTS";

/**
 * The variables of `env` that hooks exported, by the shim's list; the bootstrap's own
 * (`BUILDKITE_*`), the shell's and the agent machine's are not passed on.
 */
export function exportedByHooks(env: Record<string, string | undefined>): Map<string, string> {
  const exported = new Map<string, string>();
  const names = (env[HOOK_EXPORTS_VARIABLE] ?? "").split(" ").filter(Boolean).sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined || name.startsWith("BUILDKITE") || NOT_PASSED_ON.has(name)) continue;
    if (name.startsWith("BASH_FUNC_")) continue;
    exported.set(name, value);
  }
  return exported;
}
