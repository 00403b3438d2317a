#!/usr/bin/env bash
# Clusters (issue 19): a SECOND incusd on this machine, made a single-member
# Incus cluster, for the `--target` / placement tests. It has a state dir of
# its own and never touches the main daemon (which everyone uses): Incus's
# own test suite runs several daemons side by side the same way (INCUS_DIR).
# Idempotent; says what it did. Run as root after scripts/incus/{install,
# test-user,start,images}.sh (it copies the main daemon's test images).
#
#   scripts/ci/cluster.sh           provision (and start the second daemon)
#   scripts/ci/cluster.sh --stop    stop the daemons this script started (`incus admin shutdown`
#                                   on each socket, then TERM to its recorded PID only)
#   scripts/ci/cluster.sh --join NAME [ADDRESS]
#                                   by hand, not in CI: one more member (a third incusd,
#                                   INCUS_DIR=$CLUSTER_DIR-NAME, default 127.0.0.1:8445) joined
#                                   with a token, for trying placement, a member down, evacuation
#   scripts/ci/cluster.sh --leave NAME
#                                   that member leaves (its instances must be gone), its daemon
#                                   stops and its state dir is removed
#
# What it does:
# - starts /usr/libexec/incus/incusd --group incus-admin with
#   INCUS_DIR=$CLUSTER_DIR (own session; PID in $REPOMAN_CI_RUN_DIR/incusd-cluster.pid,
#   log $CLUSTER_LOG), so its socket $CLUSTER_DIR/unix.socket is
#   root:incus-admin 0660 and the test user reaches it;
# - core.https_address $CLUSTER_ADDRESS (clustering needs a network address;
#   loopback only), then `incus cluster enable $CLUSTER_MEMBER`;
# - a storage pool made the cluster way: the per-member step
#   (`--target $CLUSTER_MEMBER`, with the member's own driver settings),
#   then the global create that makes it usable;
# - imports the main daemon's test images (the same tarballs, so the same
#   fingerprints) under the same aliases;
# - writes $REPOMAN_CI_STATE/env.d/cluster.env: the socket, the member name.
set -euo pipefail
SCRIPT_NAME=cluster
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../incus/lib.sh"
require_root

: "${CLUSTER_DIR:=/var/lib/incus-cluster}"
: "${CLUSTER_MEMBER:=member1}"
: "${CLUSTER_ADDRESS:=127.0.0.1:8444}"
: "${CLUSTER_POOL:=default}"
: "${CLUSTER_POOL_DRIVER:=dir}"
CLUSTER_SOCKET=$CLUSTER_DIR/unix.socket
CLUSTER_PID=$REPOMAN_CI_RUN_DIR/incusd-cluster.pid
CLUSTER_LOG=/var/log/incus/incusd-cluster.log

# The incus client, talking to the second daemon only.
cincus() { INCUS_DIR=$CLUSTER_DIR INCUS_SOCKET=$CLUSTER_SOCKET incus "$@"; }
# The incus client, talking to the main daemon only.
mincus() { INCUS_SOCKET=$INCUS_SOCKET incus "$@"; }

cluster_up() { [ -S "$CLUSTER_SOCKET" ] && cincus query /1.0 >/dev/null 2>&1; }

# daemon_pid DIR PIDFILE: the PID recorded there, if that process is still an incusd with state dir DIR.
daemon_pid() {
  local pid
  [ -f "$2" ] || return 1
  pid=$(cat "$2" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$INCUSD" ] || return 1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "INCUS_DIR=$1" || return 1
  echo "$pid"
}

# start_daemon DIR PIDFILE LOG: incusd with state dir DIR, in its own session, its PID recorded.
start_daemon() {
  local pid
  install -d -m 0711 "$1"
  mkdir -p "$REPOMAN_CI_RUN_DIR" "$(dirname "$3")"
  (
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    export PATH=/usr/libexec/incus:/usr/sbin:/usr/bin:/sbin:/bin
    export INCUS_DIR=$1
    # incusd takes INCUS_SOCKET as its own socket: one inherited from the caller would point it at
    # the main daemon's, and it would refuse to start ("Incus is already running").
    unset INCUS_SOCKET
    cd /
    exec setsid "$INCUSD" --group "$INCUS_GROUP" </dev/null >>"$3" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$2"
  say "started incusd (pid $pid, INCUS_DIR=$1, log $3)"
  if ! INCUS_DIR=$1 INCUS_SOCKET=$1/unix.socket incus admin waitready --timeout 60 >/dev/null 2>&1; then
    tail -n 30 "$3" >&2 || true
    die "incusd with INCUS_DIR=$1 did not become ready in 60 s (log: $3)"
  fi
}

# stop_daemon DIR PIDFILE: `incus admin shutdown` on its socket, then TERM to the recorded PID only.
stop_daemon() {
  local pid
  pid=$(daemon_pid "$1" "$2") || pid=""
  if [ -z "$pid" ]; then
    say "no incusd with INCUS_DIR=$1 started by this script is running"
    rm -f "$2"
    return 0
  fi
  INCUS_DIR=$1 INCUS_SOCKET=$1/unix.socket incus admin shutdown --timeout 60 >/dev/null 2>&1 || true
  for _ in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then
    say "incusd (pid $pid) did not exit: sending TERM"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  fi
  rm -f "$2"
  say "stopped incusd (pid $pid, INCUS_DIR=$1)"
}

# Where a joined member NAME keeps its state and PID.
member_dir() { echo "$CLUSTER_DIR-$1"; }
member_pid() { echo "$REPOMAN_CI_RUN_DIR/incusd-cluster-$1.pid"; }

# --join NAME [ADDRESS]: one more member, by hand (not in CI): another incusd joined with a token.
join_member() {
  local name=$1 address=${2:-127.0.0.1:8445} dir token
  dir=$(member_dir "$name")
  cluster_up || die "the clustered incusd is not running: run $0 first"
  if cincus cluster show "$name" >/dev/null 2>&1; then
    say "member $name is in the cluster already"
    return 0
  fi
  [ ! -e "$dir" ] || die "$dir exists: remove it (a left-over member's state) or pick another name"
  start_daemon "$dir" "$(member_pid "$name")" "/var/log/incus/incusd-cluster-$name.log"
  token=$(cincus cluster add "$name" | tail -n 1 | tr -d '[:space:]')
  INCUS_DIR=$dir INCUS_SOCKET=$dir/unix.socket incus admin init --preseed >/dev/null <<EOF
cluster:
  enabled: true
  server_name: $name
  server_address: $address
  cluster_address: $CLUSTER_ADDRESS
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: $CLUSTER_POOL
    key: source
    value: ""
EOF
  say "member $name joined the cluster at $address: $(cincus cluster list -f csv -c ns | tr '\n' ' ')"
}

# --leave NAME: the member leaves the cluster (its instances must be gone), its daemon stops, its state goes.
leave_member() {
  local name=$1 dir
  dir=$(member_dir "$name")
  if cincus cluster show "$name" >/dev/null 2>&1; then
    cincus cluster remove "$name" >/dev/null
    say "member $name left the cluster"
  fi
  stop_daemon "$dir" "$(member_pid "$name")"
  if [ -d "$dir" ]; then
    ! grep -q " $dir" /proc/mounts || die "$dir still has mounts: not removed"
    rm -rf "$dir"
    say "removed $dir"
  fi
}

case "${1:-}" in
  --stop)
    for f in "$REPOMAN_CI_RUN_DIR"/incusd-cluster-*.pid; do
      [ -f "$f" ] || continue
      name=${f##*/incusd-cluster-}
      name=${name%.pid}
      stop_daemon "$(member_dir "$name")" "$f"
    done
    stop_daemon "$CLUSTER_DIR" "$CLUSTER_PID"
    exit 0
    ;;
  --join) [ -n "${2:-}" ] || die "usage: $0 --join NAME [ADDRESS]"; join_member "$2" "${3:-}"; exit 0 ;;
  --leave) [ -n "${2:-}" ] || die "usage: $0 --leave NAME"; leave_member "$2"; exit 0 ;;
  "") ;;
  *) die "usage: $0 [--stop | --join NAME [ADDRESS] | --leave NAME]" ;;
esac

t0=$(now_ms)
incus_up || die "the main incusd is not running: run scripts/incus/start.sh first"
[ "$CLUSTER_SOCKET" != "$INCUS_SOCKET" ] || die "CLUSTER_DIR must not be the main daemon's"
if ! command -v jq >/dev/null; then
  apt-get install -y --no-install-recommends jq >/dev/null || { apt-get update -q >/dev/null && apt-get install -y --no-install-recommends jq >/dev/null; }
  say "installed jq"
fi

# 1. The daemon.
if cluster_up; then
  say "second incusd already running (socket $CLUSTER_SOCKET)"
elif pid=$(daemon_pid "$CLUSTER_DIR" "$CLUSTER_PID"); then
  say "second incusd (pid $pid) is starting"
  cincus admin waitready --timeout 60 >/dev/null 2>&1 || die "the second incusd did not become ready (log: $CLUSTER_LOG)"
else
  start_daemon "$CLUSTER_DIR" "$CLUSTER_PID" "$CLUSTER_LOG"
fi

# 2. A network address, then clustering.
if [ "$(cincus config get core.https_address)" != "$CLUSTER_ADDRESS" ]; then
  cincus config set core.https_address "$CLUSTER_ADDRESS"
  say "core.https_address = $CLUSTER_ADDRESS"
fi
if [ "$(cincus query /1.0 | jq -r '.environment.server_clustered')" = "true" ]; then
  say "clustered already ($(cincus query /1.0 | jq -r '.environment.server_name'))"
else
  cincus cluster enable "$CLUSTER_MEMBER" >/dev/null
  say "cluster enabled: member $CLUSTER_MEMBER"
fi
member=$(cincus query /1.0 | jq -r '.environment.server_name')
[ "$member" = "$CLUSTER_MEMBER" ] || die "the second daemon is member $member, not $CLUSTER_MEMBER (CLUSTER_DIR was used before)"

# 3. Storage pool, the cluster way: pending on each member, then created globally.
if cincus storage show "$CLUSTER_POOL" >/dev/null 2>&1 &&
  [ "$(cincus query "/1.0/storage-pools/$CLUSTER_POOL" | jq -r .status)" = "Created" ]; then
  say "storage pool $CLUSTER_POOL exists"
else
  if ! cincus storage show "$CLUSTER_POOL" --target "$CLUSTER_MEMBER" >/dev/null 2>&1; then
    cincus storage create "$CLUSTER_POOL" "$CLUSTER_POOL_DRIVER" --target "$CLUSTER_MEMBER" >/dev/null
    say "storage pool $CLUSTER_POOL: pending on $CLUSTER_MEMBER ($CLUSTER_POOL_DRIVER)"
  fi
  cincus storage create "$CLUSTER_POOL" "$CLUSTER_POOL_DRIVER" >/dev/null
  say "storage pool $CLUSTER_POOL: created on the cluster"
fi

# 4. The main daemon's test images, under the same aliases.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for alias in "$REPOMAN_CI_BUSYBOX_ALIAS" "$REPOMAN_CI_DEBIAN_ALIAS"; do
  fp=$(mincus image info "$alias" 2>/dev/null | awk '/^Fingerprint:/ { print $2 }') || true
  if [ -z "$fp" ]; then
    say "image $alias: not on the main daemon, skipped"
    continue
  fi
  cur=$(cincus image info "$alias" 2>/dev/null | awk '/^Fingerprint:/ { print $2 }') || true
  if [ "$cur" = "$fp" ]; then
    say "image $alias -> ${fp:0:12} already imported"
    continue
  fi
  t=$(now_ms)
  [ -n "$cur" ] && cincus image alias delete "$alias" >/dev/null
  if cincus image info "$fp" >/dev/null 2>&1; then
    cincus image alias create "$alias" "$fp" >/dev/null
  else
    # The cached tarball when it is the one (images.sh keeps one per recipe), else an export.
    src=""
    for f in "$REPOMAN_CI_CACHE"/*.tar.zst; do
      [ -f "$f" ] && [ "$(sha256sum "$f" | cut -c1-64)" = "$fp" ] && { src=$f; break; }
    done
    if [ -z "$src" ]; then
      mincus image export "$fp" "$tmp/$alias" >/dev/null
      src=$(find "$tmp" -maxdepth 1 -name "$alias*" | head -n 1)
    fi
    cincus image import "$src" --alias "$alias" >/dev/null
  fi
  [ -n "$cur" ] && { cincus image delete "$cur" >/dev/null 2>&1 || true; }
  say "image $alias -> ${fp:0:12} imported ($(elapsed "$t"))"
done

# 5. What the tests must know.
mkdir -p "$REPOMAN_CI_STATE/env.d"
cat >"$REPOMAN_CI_STATE/env.d/cluster.env" <<EOF
# Written by scripts/ci/cluster.sh: a second incusd, a single-member Incus cluster.
REPOMAN_CI_CLUSTER_SOCKET=$CLUSTER_SOCKET
REPOMAN_CI_CLUSTER_MEMBER=$CLUSTER_MEMBER
REPOMAN_CI_CLUSTER_POOL=$CLUSTER_POOL
EOF
chmod 0644 "$REPOMAN_CI_STATE/env.d/cluster.env"
say "wrote $REPOMAN_CI_STATE/env.d/cluster.env; took $(elapsed "$t0")"
