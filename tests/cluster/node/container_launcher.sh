#!/bin/sh
# Starts one container for the node agent, as the container's own first process: it runs
# inside the mount and UTS namespaces `unshare --mount --uts --propagation private` made,
# and every step execs, so the pid the node agent sees is the container's main process.
#
#   container_launcher.sh SPEC_DIR NONCE CGROUP HOSTNAME WORKDIR -- COMMAND [ARG...]
#
# The environment is already the container's. SPEC_DIR holds rootfs/ (the mount point),
# upper/ and work/ (the overlay's writable layer) and `mounts`: one bind mount a line,
# tab-separated `ro|rw SOURCE TARGET dir|file`, TARGET already resolved inside the root.
# On success the launcher prints NONCE on stdout just before it execs the command; on a
# failure before that it writes the reason to SPEC_DIR/start-error and exits 128.
set -eu
spec=$1 nonce=$2 cgroup=$3 name=$4 workdir=$5
shift 5
[ "${1-}" = -- ] && shift

fail() {
  trap - EXIT
  printf '%s\n' "$1" >"$spec/start-error"
  exit 128
}

# The container's PATH is for its command only; the launcher's tools come from the host's
# standard locations.
run() { command -p "$@"; }

# Any other failed step (set -e) is a start error too; exec'ing the command ends the trap.
trap 'fail "container setup failed (status $?)"' EXIT

echo $$ >"$cgroup/cgroup.procs" || fail "failed to join cgroup $cgroup"
run hostname "$name" || fail "failed to set hostname $name"
root=$spec/rootfs
# A copy-on-write view of the host: the container can create its mount points and change
# files without touching the host's.
run mount -t overlay overlay -o "lowerdir=/,upperdir=$spec/upper,workdir=$spec/work" "$root" ||
  fail "failed to mount the root overlay"
run mount --rbind /proc "$root/proc"
run mount --rbind /sys "$root/sys"
# A private /dev, so the container's files there (termination log, shm) stay its own.
run mount -t tmpfs -o nosuid,mode=755 tmpfs "$root/dev"
for device in null zero full random urandom tty; do
  : >"$root/dev/$device"
  run mount --bind "/dev/$device" "$root/dev/$device"
done
run mkdir "$root/dev/pts" "$root/dev/shm"
run mount --rbind /dev/pts "$root/dev/pts"
run mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$root/dev/shm"
run ln -s /proc/self/fd "$root/dev/fd"
run ln -s /proc/self/fd/0 "$root/dev/stdin"
run ln -s /proc/self/fd/1 "$root/dev/stdout"
run ln -s /proc/self/fd/2 "$root/dev/stderr"
run ln -s pts/ptmx "$root/dev/ptmx"

tab=$(printf '\t')
while IFS=$tab read -r mode source target kind; do
  destination=$root$target
  if [ "$kind" = dir ]; then
    run mkdir -p "$destination"
  else
    run mkdir -p "${destination%/*}"
    [ -e "$destination" ] || : >"$destination"
  fi
  run mount --bind "$source" "$destination" || fail "failed to mount $source at $target"
  if [ "$mode" = ro ]; then
    run mount -o remount,bind,ro "$destination" || fail "failed to make $target read-only"
  fi
done <"$spec/mounts"

run mkdir -p "$root$workdir"
# The runtime's checks before exec, with runc's wording, so a bad command is a StartError.
# shellcheck disable=SC2016 # expanded by the shell inside the container root
problem=$(run chroot "$root" /bin/sh -c '
  cd "$1" 2>/dev/null || { echo "chdir to cwd (\"$1\") set in config.json failed"; exit; }
  case $2 in
  */*)
    if [ ! -e "$2" ]; then echo "exec: \"$2\": stat $2: no such file or directory"
    elif [ -d "$2" ] || [ ! -x "$2" ]; then echo "exec: \"$2\": permission denied"; fi ;;
  *)
    # exec looks the command up in PATH as a file, whatever the shell has built in.
    found=
    IFS=:
    for dir in ${PATH-}; do
      if [ -f "${dir:-.}/$2" ] && [ -x "${dir:-.}/$2" ]; then found=yes && break; fi
    done
    [ -n "$found" ] || echo "exec: \"$2\": executable file not found in \$PATH" ;;
  esac' sh "$workdir" "$1")
[ -z "$problem" ] || fail "unable to start container process: $problem"

echo "$nonce"
exec "$(command -pv unshare)" --root="$root" --wd="$workdir" -- "$@"
