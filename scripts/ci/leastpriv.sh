#!/usr/bin/env bash
# Least privilege (issue 15): a second test user who is NOT in incus-admin,
# only in group `incus`, reaching Incus through incus-user (a restricted
# project of its own), set up the way an admin would for repoman (README,
# "Without incus-admin"). Idempotent; says what it did. Run as root after
# scripts/incus/{install,test-user,start,images}.sh.
#
#   scripts/ci/leastpriv.sh           provision (and start incus-user)
#   scripts/ci/leastpriv.sh --stop    stop the incus-user this script started (by its PID) and remove its socket
#
# What it does:
# - user + group $CI2_USER ($CI2_UID), in group `incus` only; repos root
#   ~/repos and a TMPDIR ~/tmp, both owned by the user;
# - /etc/subuid and /etc/subgid: root:$CI2_UID:1 (no incusd restart needed:
#   newuidmap reads the files at every container start);
# - the admin's one-time step for that user: project user-$CI2_UID, made
#   BEFORE incus-user starts (incus-user reads the project list once, at
#   start, and would otherwise try to make it with a NAT bridge of its own),
#   restricted, disks only from the user's home, raw.idmap only for the
#   user's ids, isolated containers only, the default project's images
#   visible (features.images=false), a root disk in its default profile, and
#   owner user.repoman.owner=$CI2_UID;
# - a managed network if there is none: incus-user's start-up insists on one
#   and cannot pick a subnet for a bridge here (no dnsmasq, and the sandbox
#   answers on every address), so a macvlan record on the default route's
#   interface stands in (nothing ever attaches to it);
# - starts /usr/libexec/incus/incus-user --group incus (own session, PID in
#   $REPOMAN_CI_RUN_DIR/incus-user.pid, log /var/log/incus/incus-user.log),
#   restarting only the one it started when it made the project; then
#   connects once as the user so incus-user makes the user's certificate;
# - raises fs.inotify.max_user_instances and max_user_watches to 1048576 (as
#   Incus's production settings recommend; never lowers them): every
#   container's inotify instances count against host root's budget;
# - sudo, and a rule letting $REPOMAN_CI_USER run commands as $CI2_USER (the
#   cross-user tests of the admin job play the second user with it);
# - writes $REPOMAN_CI_STATE/env.d/leastpriv.env (what the tests must know)
#   and $REPOMAN_CI_STATE/env.d/as-$CI2_USER.vars (what scripts/incus/
#   test-as-user.sh --as $CI2_USER adds for that user's own runs: no
#   INCUS_SOCKET, so the socket is chosen as the incus client does, and a
#   TMPDIR inside the project's allowed disk paths).
set -euo pipefail
SCRIPT_NAME=leastpriv
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../incus/lib.sh"
require_root

: "${CI2_USER:=repoman-ci2}"
: "${CI2_UID:=1501}"
CI2_HOME=/home/$CI2_USER
CI2_PROJECT=user-$CI2_UID
USER_GROUP=incus
USER_SOCKET=/var/lib/incus/unix.socket.user
INCUS_USER_BIN=/usr/libexec/incus/incus-user
INCUS_USER_PID=$REPOMAN_CI_RUN_DIR/incus-user.pid
INCUS_USER_LOG=/var/log/incus/incus-user.log
PLACEHOLDER_NET=repoman-ph
SUDOERS=/etc/sudoers.d/repoman-ci-leastpriv

# PID of the incus-user this script started, if it still runs.
our_incus_user_pid() {
  local pid
  [ -f "$INCUS_USER_PID" ] || return 1
  pid=$(cat "$INCUS_USER_PID" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$INCUS_USER_BIN" ] || return 1
  echo "$pid"
}

stop_incus_user() {
  local pid
  if pid=$(our_incus_user_pid); then
    kill "$pid"
    for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    say "stopped incus-user (pid $pid)"
  fi
  rm -f "$INCUS_USER_PID"
  # A socket nobody listens on only confuses clients.
  [ -S "$USER_SOCKET" ] && ! our_incus_user_pid >/dev/null && rm -f "$USER_SOCKET" && say "removed $USER_SOCKET"
  return 0
}

start_incus_user() {
  local pid
  mkdir -p "$REPOMAN_CI_RUN_DIR" "$(dirname "$INCUS_USER_LOG")"
  (
    export PATH=/usr/libexec/incus:/usr/sbin:/usr/bin:/sbin:/bin
    cd /
    exec setsid "$INCUS_USER_BIN" --group "$USER_GROUP" </dev/null >>"$INCUS_USER_LOG" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$INCUS_USER_PID"
  for _ in $(seq 1 100); do [ -S "$USER_SOCKET" ] && break; sleep 0.1; done
  [ -S "$USER_SOCKET" ] || { tail -n 20 "$INCUS_USER_LOG" >&2; die "incus-user did not make $USER_SOCKET"; }
  say "started incus-user (pid $pid, log $INCUS_USER_LOG)"
}

if [ "${1:-}" = "--stop" ]; then
  stop_incus_user
  exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--stop]"

t0=$(now_ms)
incus_up || die "incusd is not running: run scripts/incus/start.sh first"
[ -x "$INCUS_USER_BIN" ] || die "$INCUS_USER_BIN not found (package incus-base)"

# 1. sudo, for the cross-user tests.
if ! command -v sudo >/dev/null; then
  apt-get install -y --no-install-recommends sudo >/dev/null || { apt-get update -q >/dev/null && apt-get install -y --no-install-recommends sudo >/dev/null; }
  say "installed sudo"
fi

# 2. The user, in group incus only.
getent group "$USER_GROUP" >/dev/null || { groupadd --system "$USER_GROUP"; say "created group $USER_GROUP"; }
if ! getent group "$CI2_USER" >/dev/null; then
  groupadd -g "$CI2_UID" "$CI2_USER"
  say "created group $CI2_USER ($CI2_UID)"
fi
if id -u "$CI2_USER" >/dev/null 2>&1; then
  [ "$(id -u "$CI2_USER")" = "$CI2_UID" ] || die "user $CI2_USER exists with uid $(id -u "$CI2_USER"), not $CI2_UID"
  say "user $CI2_USER ($CI2_UID) exists"
else
  useradd -m -u "$CI2_UID" -g "$CI2_UID" -s /bin/bash -c "repoman CI test user without incus-admin" \
    -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$CI2_USER"
  say "created user $CI2_USER ($CI2_UID)"
fi
groups=$(id -nG "$CI2_USER")
if printf '%s\n' $groups | grep -qx "$INCUS_GROUP"; then
  gpasswd -d "$CI2_USER" "$INCUS_GROUP" >/dev/null
  say "removed $CI2_USER from $INCUS_GROUP (this user must not be root-equivalent)"
fi
if ! printf '%s\n' $groups | grep -qx "$USER_GROUP"; then
  usermod -aG "$USER_GROUP" "$CI2_USER"
  say "added $CI2_USER to $USER_GROUP"
fi
install -d -o "$CI2_UID" -g "$CI2_UID" -m 0755 "$CI2_HOME" "$CI2_HOME/repos" "$CI2_HOME/tmp"

# 3. Its one id, delegated to incusd.
for f in /etc/subuid /etc/subgid; do
  if grep -qx "root:$CI2_UID:1" "$f"; then
    say "$f has root:$CI2_UID:1"
  else
    echo "root:$CI2_UID:1" >>"$f"
    say "$f: added root:$CI2_UID:1"
  fi
done

# 4. A managed network, so incus-user starts.
if incus network list -f csv -c nm 2>/dev/null | awk -F, '$2 == "YES" { found = 1 } END { exit !found }'; then
  say "a managed network exists"
else
  parent=$(ip -o route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  [ -n "$parent" ] || die "no default route to hang the placeholder network on"
  incus network create "$PLACEHOLDER_NET" --type=macvlan parent="$parent" >/dev/null
  say "created placeholder network $PLACEHOLDER_NET (macvlan on $parent; nothing attaches to it)"
fi

# 5. The admin's one-time step: the user's project, before incus-user starts.
made_project=0
want=(
  restricted=true
  features.images=false
  features.profiles=true
  features.networks=false
  restricted.containers.privilege=isolated
  restricted.containers.nesting=block
  restricted.devices.disk=allow
  "restricted.devices.disk.paths=$CI2_HOME"
  "restricted.idmap.uid=$CI2_UID"
  "restricted.idmap.gid=$CI2_UID"
  restricted.snapshots=allow   # the runtime suite's repo volume tests (snapshots, export/import)
  restricted.backups=allow
  "user.repoman.owner=$CI2_UID"
)
if incus project show "$CI2_PROJECT" >/dev/null 2>&1; then
  say "project $CI2_PROJECT exists"
  for kv in "${want[@]}"; do
    key=${kv%%=*}
    case "$key" in features.*) continue ;; esac # fixed once the project holds anything
    [ "$(incus project get "$CI2_PROJECT" "$key")" = "${kv#*=}" ] || {
      incus project set "$CI2_PROJECT" "$kv"
      say "project $CI2_PROJECT: set $kv"
    }
  done
else
  args=()
  for kv in "${want[@]}"; do args+=(-c "$kv"); done
  incus project create "$CI2_PROJECT" "${args[@]}" >/dev/null
  made_project=1
  say "created project $CI2_PROJECT (restricted to $CI2_HOME and uid/gid $CI2_UID)"
fi
if ! incus profile device get default root path --project "$CI2_PROJECT" >/dev/null 2>&1; then
  incus profile device add default root disk path=/ pool="$REPOMAN_CI_POOL" --project "$CI2_PROJECT" >/dev/null
  say "project $CI2_PROJECT: root disk on pool $REPOMAN_CI_POOL in the default profile"
fi

# 6. incus-user (restarted only when this run made the project, which it reads at start).
if pid=$(our_incus_user_pid); then
  if [ "$made_project" -eq 1 ]; then
    stop_incus_user
    start_incus_user
  else
    say "incus-user (pid $pid) is running"
  fi
elif [ -S "$USER_SOCKET" ] && pgrep -x incus-user >/dev/null; then
  say "an incus-user this script did not start is running: using it"
else
  rm -f "$USER_SOCKET"
  start_incus_user
fi
# A certificate incus-user made for this user in an earlier run keeps its name,
# but loses the project when the project was deleted since (incusd drops it from
# the certificate's list); incus-user does not grant it again. Grant it here.
cert_name=incus-user-$CI2_UID
fp=$(incus config trust list --format csv | awk -F, -v n="$cert_name" '$1 == n { print $4; exit }')
if [ -n "$fp" ] && ! incus config trust show "$fp" | grep -qx -- "- $CI2_PROJECT"; then
  incus query -X PATCH "/1.0/certificates/$fp" --data "{\"projects\": [\"$CI2_PROJECT\"]}" >/dev/null
  say "certificate $cert_name: granted $CI2_PROJECT again (an earlier run's project was deleted)"
fi
# The first connection makes the user's restricted certificate for the project.
if out=$(runuser -u "$CI2_USER" -- env -i HOME="$CI2_HOME" PATH=/usr/bin:/bin \
  incus query "/1.0/projects?recursion=0" 2>&1); then
  printf '%s' "$out" | grep -q "/1.0/projects/$CI2_PROJECT" ||
    die "incus-user did not grant $CI2_PROJECT to $CI2_USER: $out"
  say "$CI2_USER reaches Incus through incus-user, restricted to $CI2_PROJECT"
else
  tail -n 20 "$INCUS_USER_LOG" >&2 || true
  die "$CI2_USER cannot use incus-user: $out"
fi

# 7. inotify: every container's instances count against host root's budget.
for key in fs.inotify.max_user_instances fs.inotify.max_user_watches; do
  current=$(sysctl -n "$key")
  if [ "$current" -lt 1048576 ]; then
    sysctl -q -w "$key=1048576"
    say "raised $key from $current to 1048576"
  else
    say "$key is $current"
  fi
done

# 8. The admin-group test user may act as the second user.
if [ -n "${REPOMAN_CI_USER:-}" ] && id -u "$REPOMAN_CI_USER" >/dev/null 2>&1; then
  printf '%s ALL=(%s) NOPASSWD: ALL\n' "$REPOMAN_CI_USER" "$CI2_USER" >"$SUDOERS.tmp"
  chmod 0440 "$SUDOERS.tmp"
  visudo -cqf "$SUDOERS.tmp" || die "bad sudoers rule"
  mv "$SUDOERS.tmp" "$SUDOERS"
  say "$SUDOERS: $REPOMAN_CI_USER may run commands as $CI2_USER"
fi

# 9. What the tests must know.
mkdir -p "$REPOMAN_CI_STATE/env.d"
cat >"$REPOMAN_CI_STATE/env.d/leastpriv.env" <<EOF
# Written by scripts/ci/leastpriv.sh: the second test user (group incus only, no incus-admin).
REPOMAN_CI2_USER=$CI2_USER
REPOMAN_CI2_UID=$CI2_UID
REPOMAN_CI2_HOME=$CI2_HOME
REPOMAN_CI2_PROJECT=$CI2_PROJECT
REPOMAN_CI2_TMP=$CI2_HOME/tmp
REPOMAN_CI_USER_SOCKET=$USER_SOCKET
EOF
cat >"$REPOMAN_CI_STATE/env.d/as-$CI2_USER.vars" <<EOF
# Added by scripts/incus/test-as-user.sh --as $CI2_USER: the socket as the incus client picks it
# (the user socket: the admin one is not writable), temp dirs inside the project's allowed paths.
INCUS_SOCKET=
TMPDIR=$CI2_HOME/tmp
REPOMAN_CI_RESTRICTED=1
EOF
chmod 0644 "$REPOMAN_CI_STATE/env.d/leastpriv.env" "$REPOMAN_CI_STATE/env.d/as-$CI2_USER.vars"
say "wrote $REPOMAN_CI_STATE/env.d/leastpriv.env and as-$CI2_USER.vars; took $(elapsed "$t0")"
