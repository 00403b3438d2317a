#!/usr/bin/env bash
# Start incusd without a service manager and make it ready for containers.
# Idempotent: does nothing that is already done.
#
#   scripts/incus/start.sh            start (if not running), storage pool
#   scripts/incus/start.sh --restart  graceful shutdown, then the same (rereads /etc/subuid)
#   scripts/incus/start.sh --stop     graceful shutdown (`incus admin shutdown`)
#
# incusd runs in its own session in the background as
#   /usr/libexec/incus/incusd --group incus-admin
# so /var/lib/incus/unix.socket is root:incus-admin 0660. Its log (stdout and
# stderr, warnings and up) goes to /var/log/incus/incusd.log, its PID to
# /run/repoman-ci/incusd.pid. --stop/--restart kill only that PID, and only
# if `incus admin shutdown` did not end it.
#
# Storage: a pool $REPOMAN_CI_POOL (`default`) with driver
# $REPOMAN_CI_POOL_DRIVER (btrfs on a sparse $REPOMAN_CI_POOL_SIZE loop file
# under /var/lib/incus/disks by default; `dir` is the fallback). An existing
# pool is never changed, and the default project is left alone (repoman's
# projects give their own default profile a root disk). No network is created: the test
# containers need none (and `incus admin init --minimal` fails here trying to
# pick a bridge subnet).
set -euo pipefail
SCRIPT_NAME=start
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root

case "${1:-}" in
  "") ;;
  --stop) incus_shutdown; say "incusd stopped"; exit 0 ;;
  --restart) incus_shutdown ;;
  *) die "usage: $0 [--stop|--restart]" ;;
esac

t0=$(now_ms)
[ -x "$INCUSD" ] || die "$INCUSD not found: run scripts/incus/install.sh first"

# 1. The daemon.
if incus_up; then
  say "incusd already running"
else
  if pid=$(our_incusd_pid); then
    say "incusd (pid $pid) is starting"
  else
    mkdir -p "$(dirname "$INCUSD_LOG")" "$REPOMAN_CI_RUN_DIR"
    # As the packaged service does: incus helpers on PATH, many open files.
    (
      ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
      export PATH=/usr/libexec/incus:/usr/sbin:/usr/bin:/sbin:/bin
      cd /
      exec setsid "$INCUSD" --group "$INCUS_GROUP" </dev/null >>"$INCUSD_LOG" 2>&1
    ) &
    pid=$!
    echo "$pid" >"$INCUSD_PID"
    say "started incusd (pid $pid, log $INCUSD_LOG)"
  fi
  if ! incus admin waitready --timeout 60 >/dev/null 2>&1; then
    tail -n 30 "$INCUSD_LOG" >&2 || true
    die "incusd did not become ready in 60 s (log: $INCUSD_LOG)"
  fi
  say "incusd ready ($(elapsed "$t0"))"
fi

# 2. Storage pool.
pool=$REPOMAN_CI_POOL
if incus storage show "$pool" >/dev/null 2>&1; then
  driver=$(incus storage list -f csv -c nD | awk -F, -v p="$pool" '$1 == p { print $2 }')
  say "storage pool $pool exists (driver $driver)"
  [ "$driver" = "$REPOMAN_CI_POOL_DRIVER" ] ||
    say "note: REPOMAN_CI_POOL_DRIVER=$REPOMAN_CI_POOL_DRIVER, but the existing pool is kept"
else
  t=$(now_ms)
  case "$REPOMAN_CI_POOL_DRIVER" in
    btrfs) incus storage create "$pool" btrfs size="$REPOMAN_CI_POOL_SIZE" >/dev/null ;;
    dir) incus storage create "$pool" dir >/dev/null ;;
    *) die "REPOMAN_CI_POOL_DRIVER must be btrfs or dir" ;;
  esac
  say "created storage pool $pool ($REPOMAN_CI_POOL_DRIVER) ($(elapsed "$t"))"
fi

say "incus is up: socket $INCUS_SOCKET (group $INCUS_GROUP), took $(elapsed "$t0")"
