#!/bin/bash
# Finds and runs the plugin's program. Sourced by the hooks, which the agent itself sources
# into a wrapper script: so no `exec`, no `exit`, no shell options, and nothing left behind
# but the function below.
#
# The program, in order of preference:
#   1. BUILDKITE_KUBERNETES_PLUGIN_PROGRAM, a path to an executable;
#   2. kubernetes-buildkite-plugin on PATH (the agent image carries it);
#   3. Deno running this plugin checkout's source (deno on PATH, or from `npm ci` here).

# kubernetes_plugin_hook_exports: the names of the variables that hooks exported before this
# one (a secrets plugin's environment hook): exported here, but absent from, or different in,
# the environment `buildkite-agent bootstrap`, this wrapper's parent, started with. Nothing
# when the parent is no bootstrap (a hook run by hand). The program reads only these names'
# values, and keeps out the shell's and the agent machine's own (PWD, PATH, ...).
kubernetes_plugin_hook_exports() {
  local name entry
  local -a argv=()
  local -A before=()
  [[ -r "/proc/${PPID}/environ" ]] || return 0
  mapfile -d '' argv <"/proc/${PPID}/cmdline"
  [[ ${#argv[@]} -ge 2 && "${argv[0]##*/}" == buildkite-agent && " ${argv[*]:1} " == *" bootstrap "* ]] || return 0
  while IFS= read -r -d '' entry; do
    before["${entry%%=*}"]="${entry#*=}"
  done <"/proc/${PPID}/environ"
  local -a names=()
  while IFS= read -r name; do
    if [[ ! -v "before[${name}]" || "${before[${name}]}" != "${!name}" ]]; then
      names+=("${name}")
    fi
  done < <(compgen -e)
  printf '%s' "${names[*]}"
}

# kubernetes_plugin_run SUBCOMMAND: runs the program; returns its exit status. After `run`,
# exports BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP=<this job's id> when the program has left
# nothing for the pre-exit hook to clean up (it writes the job's id into a file named here);
# the agent carries it to the job's later hooks, and only those of this job have this id.
kubernetes_plugin_run() {
  local plugin_dir program status cleaned_up_file="" cleaned_up=""
  plugin_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  local -a command
  # From source, Deno runs the program as deno.json's compile task builds it: no code cache,
  # the same V8 flags (tests/unit/hooks_test.ts checks that the two agree).
  local -a runtime_flags=(--no-code-cache
    "--v8-flags=--max-semi-space-size=1,--invocation-count-for-feedback-allocation=64,--invocation-count-for-maglev=4000")
  if [[ -n "${BUILDKITE_KUBERNETES_PLUGIN_PROGRAM:-}" ]]; then
    command=("${BUILDKITE_KUBERNETES_PLUGIN_PROGRAM}")
  elif program="$(command -v kubernetes-buildkite-plugin)"; then
    command=("${program}")
  elif [[ -x "${plugin_dir}/node_modules/.bin/deno" ]]; then
    command=("${plugin_dir}/node_modules/.bin/deno" run --quiet --allow-all "${runtime_flags[@]}" "${plugin_dir}/src/main.ts")
  elif program="$(command -v deno)"; then
    command=("${program}" run --quiet --allow-all "${runtime_flags[@]}" --node-modules-dir=auto "${plugin_dir}/src/main.ts")
  else
    echo "kubernetes plugin: cannot find its program. Use the agent image (quay.io/muhlba91/buildkite-agent)," \
      "which carries kubernetes-buildkite-plugin, put that binary on PATH, set BUILDKITE_KUBERNETES_PLUGIN_PROGRAM" \
      "to its path, or install Deno 2 (https://deno.com) so the plugin runs from source." >&2
    return 78
  fi
  local exports
  exports="$(kubernetes_plugin_hook_exports)"
  # In a directory of this user's alone, the one place the compiled program may write
  # (deno.json's compile task). Without the file, the pre-exit hook cleans up as it always did.
  if [[ "$1" == run ]]; then
    unset BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP
    local dir=/tmp/kubernetes-buildkite-plugin
    { [[ -d "${dir}" ]] || mkdir -m 0700 "${dir}" 2>/dev/null; }
    if [[ -d "${dir}" && -O "${dir}" && ! -L "${dir}" ]]; then
      cleaned_up_file="$(mktemp "${dir}/cleaned-up.XXXXXXXXXX" 2>/dev/null)" || cleaned_up_file=""
    fi
  fi
  # The agent cancels by signalling the whole process group with its cancel-signal, one of
  # the four its bootstrap forwards: the program handles it (deletes the Job); this shell
  # only waits for it, so its status and last words arrive. Bash ignores QUIT by itself.
  trap ':' TERM INT HUP
  # Given to the program alone: an export here would reach the job's later hooks.
  BUILDKITE_KUBERNETES_PLUGIN_HOOK_EXPORTS="${exports}" \
    BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP_FILE="${cleaned_up_file}" "${command[@]}" "$@"
  status=$?
  trap - TERM INT HUP
  if [[ -n "${cleaned_up_file}" ]]; then
    IFS= read -r cleaned_up <"${cleaned_up_file}" || :
    rm -f "${cleaned_up_file}"
    if [[ -n "${BUILDKITE_JOB_ID:-}" && "${cleaned_up}" == "${BUILDKITE_JOB_ID}" ]]; then
      export BUILDKITE_KUBERNETES_PLUGIN_CLEANED_UP="${cleaned_up}"
    fi
  fi
  return "${status}"
}
