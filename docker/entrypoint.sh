#!/usr/bin/env bash
# Entrypoint of the agent image, which is also every step's init (checkout) image.
# It makes the credentials mounted under /secrets usable by git, shares the agent binary
# with the step's containers through /local, then becomes buildkite-agent.
#
# ENTRYPOINT_TEST_ROOT exists only so the tests can run this script against a scratch
# directory; it is unset in every image and pod, where the paths are exactly the ones shown.
set -euo pipefail

root=${ENTRYPOINT_TEST_ROOT:-}
git_credentials=$root/secrets/git-credentials
ssh_key=$root/secrets/ssh-key
shared_bin_dir=$root/local
agent=$root/usr/local/bin/buildkite-agent

log() { printf 'entrypoint: %s\n' "$*" >&2; }

if [[ -f $git_credentials ]]; then
  log "git credentials: $git_credentials"
  git config --global credential.helper "store --file=$git_credentials"
fi

if [[ -f $ssh_key ]]; then
  log "ssh key: $ssh_key"
  # A Secret volume is owned by root and often mounted 0440; ssh-add refuses a key that
  # its owner lets others read, so it loads a copy that mktemp made private (0600).
  private_key=$(mktemp)
  trap 'rm -f "$private_key"' EXIT
  cat "$ssh_key" >"$private_key"
  # Assigned first so that a failing ssh-agent stops the script; eval alone would not.
  agent_env=$(ssh-agent -s)
  eval "$agent_env" >/dev/null
  ssh-add -q "$private_key" </dev/null
  rm -f "$private_key"
  trap - EXIT
fi

if [[ -d $shared_bin_dir ]]; then
  log "sharing buildkite-agent through $shared_bin_dir"
  # A rename never exposes a half-written binary to a container that starts meanwhile,
  # and never rewrites one that a container is running. mktemp, not $$: every container
  # sharing /local may be PID 1.
  staged=$(mktemp "$shared_bin_dir/.buildkite-agent.XXXXXX")
  cp -p "$agent" "$staged"
  mv -f "$staged" "$shared_bin_dir/buildkite-agent"
fi

exec "$agent" "$@"
