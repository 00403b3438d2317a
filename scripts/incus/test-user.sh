#!/usr/bin/env bash
# The non-root user the integration tests run as, delegated to incusd the way
# repoman's `setup` does it: `root:<uid>:1` in /etc/subuid and /etc/subgid, so
# incusd may map exactly the user's ids to 1000 inside (raw.idmap).
#
#   scripts/incus/test-user.sh            create/repair the user (idempotent)
#   scripts/incus/test-user.sh --verify   end-to-end check as that user (needs
#                                         start.sh and images.sh done)
#
# Setup, as root:
# - group + user $REPOMAN_CI_USER (repoman-ci) with uid = gid = $REPOMAN_CI_UID
#   (1500). Deliberately not 1000: the container side is always uid 1000, and a
#   host uid that differs proves the `uid <host> 1000` mapping really maps
#   (with 1000 = 1000 a missing map would look the same for many checks).
#   It also keeps clear of the uid-1000 user machines often have already.
# - adds the user to incus-admin, the group that owns /var/lib/incus/unix.socket
#   (full access to incusd: tests must be trusted code anyway);
# - /etc/subuid and /etc/subgid: keeps/creates root's big range
#   (root:1000000:1000000000) and adds root:<uid>:1 so incusd may map that one
#   host id into containers (raw.idmap). incusd reads these files only at
#   start, so if it is running and a line was added it is restarted
#   (start.sh --restart: stops running instances). Run this before start.sh
#   to avoid the restart;
# - creates the repos root $REPOMAN_CI_REPOS_ROOT (/home/repoman-ci/repos),
#   owned by the user;
# - writes $REPOMAN_CI_STATE/env (/var/lib/repoman-ci/env), a sourceable file
#   with the user, ids, repos root, image aliases and socket for the tests.
set -euo pipefail
SCRIPT_NAME=test-user
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
require_root

user=$REPOMAN_CI_USER
uid=$REPOMAN_CI_UID
gid=$REPOMAN_CI_UID
repos=$REPOMAN_CI_REPOS_ROOT

as_user() { runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" "$@"; }

setup() {
  local t0 changed=0 f
  t0=$(now_ms)
  getent group "$INCUS_GROUP" >/dev/null || die "group $INCUS_GROUP missing: run scripts/incus/install.sh first"

  # 1. Group and user.
  if getent group "$user" >/dev/null; then
    [ "$(getent group "$user" | cut -d: -f3)" = "$gid" ] || die "group $user exists with gid $(getent group "$user" | cut -d: -f3), not $gid"
    say "group $user ($gid) exists"
  else
    getent group "$gid" >/dev/null && die "gid $gid is taken by group $(getent group "$gid" | cut -d: -f1): set REPOMAN_CI_UID"
    groupadd -g "$gid" "$user"
    say "created group $user ($gid)"
  fi
  if id -u "$user" >/dev/null 2>&1; then
    [ "$(id -u "$user")" = "$uid" ] || die "user $user exists with uid $(id -u "$user"), not $uid"
    say "user $user ($uid) exists"
  else
    getent passwd "$uid" >/dev/null && die "uid $uid is taken by $(getent passwd "$uid" | cut -d: -f1): set REPOMAN_CI_UID"
    # No subuid range of its own (-K ..._COUNT=0): it runs no rootless containers.
    useradd -m -u "$uid" -g "$gid" -s /bin/bash -c "repoman CI test user" \
      -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$user"
    say "created user $user ($uid:$gid, home $(getent passwd "$user" | cut -d: -f6))"
  fi
  if id -nG "$user" | tr ' ' '\n' | grep -qx "$INCUS_GROUP"; then
    say "$user is in $INCUS_GROUP"
  else
    usermod -aG "$INCUS_GROUP" "$user"
    say "added $user to $INCUS_GROUP"
  fi

  # 2. Delegate the one host id to incusd.
  for f in /etc/subuid /etc/subgid; do
    [ -f "$f" ] || { touch "$f"; chmod 0644 "$f"; }
    if ! awk -F: '$1 == "root" && $3 >= 65536 { ok = 1 } END { exit !ok }' "$f"; then
      echo "root:1000000:1000000000" >>"$f"
      say "$f: added root:1000000:1000000000 (range for unprivileged containers)"
      changed=1
    fi
    if grep -qx "root:$uid:1" "$f"; then
      say "$f has root:$uid:1"
    else
      echo "root:$uid:1" >>"$f"
      say "$f: added root:$uid:1"
      changed=1
    fi
  done
  if [ "$changed" -eq 1 ] && incus_up; then
    say "incusd is running and reads subuid/subgid only at start: restarting it"
    "$here/start.sh" --restart
  fi

  # 3. Repos root, owned by the user.
  mkdir -p "$repos"
  chown "$uid:$gid" "$repos"
  chmod 0755 "$repos"
  say "repos root $repos ($(stat -c '%U:%G %a' "$repos"))"

  # 4. What the tests need to know.
  mkdir -p "$REPOMAN_CI_STATE"
  cat >"$REPOMAN_CI_STATE/env.tmp" <<EOF
# Written by scripts/incus/test-user.sh; source it in integration tests.
REPOMAN_CI_USER=$user
REPOMAN_CI_UID=$uid
REPOMAN_CI_GID=$gid
REPOMAN_CI_HOME=$(getent passwd "$user" | cut -d: -f6)
REPOMAN_CI_REPOS_ROOT=$repos
REPOMAN_CI_BUSYBOX_ALIAS=$REPOMAN_CI_BUSYBOX_ALIAS
REPOMAN_CI_DEBIAN_ALIAS=$REPOMAN_CI_DEBIAN_ALIAS
INCUS_SOCKET=$INCUS_SOCKET
EOF
  chmod 0644 "$REPOMAN_CI_STATE/env.tmp"
  mv "$REPOMAN_CI_STATE/env.tmp" "$REPOMAN_CI_STATE/env"
  say "wrote $REPOMAN_CI_STATE/env; took $(elapsed "$t0")"
}

# --verify: the secure mapping (restricted project, raw.idmap of the user's
# ids only), end to end, as the user.
verify() {
  local t t0 p c repo out own root_own fails=0
  t0=$(now_ms)
  incus_up || die "incusd is not running: run scripts/incus/start.sh"
  p="repoman-ci-verify-$$"
  c="c1"
  repo="$repos/verify-$$"
  ok() { say "ok: $*"; }
  bad() { say "FAIL: $*"; fails=$((fails + 1)); }
  # Clean up everything made here, whatever happens.
  trap 'as_user curl -s --unix-socket "$INCUS_SOCKET" -X DELETE "http://x/1.0/projects/'"$p"'?force=true" >/dev/null 2>&1 || true; rm -rf --one-file-system "'"$repo"'"' EXIT

  # The REST API over the socket, as the user (curl).
  out=$(as_user curl -s --unix-socket "$INCUS_SOCKET" http://x/1.0)
  if [[ "$out" == *'"auth":"trusted"'* && "$out" == *"\"auth_user_name\":\"$user\""* ]]; then
    ok "GET /1.0 as $user: trusted over $INCUS_SOCKET"
  else
    bad "GET /1.0 as $user: ${out:0:300}"
  fi

  t=$(now_ms)
  as_user incus project create "$p" \
    -c restricted=true \
    -c restricted.containers.privilege=unprivileged \
    -c restricted.devices.disk=allow \
    -c restricted.devices.disk.paths="$repos" \
    -c restricted.idmap.uid="$uid" \
    -c restricted.idmap.gid="$gid" \
    -c features.images=false \
    -c features.profiles=true >/dev/null
  as_user incus profile device add default root disk path=/ pool="$REPOMAN_CI_POOL" --project "$p" >/dev/null
  say "project $p created ($(elapsed "$t"))"

  as_user mkdir -p "$repo"
  as_user sh -c "echo from-host >'$repo/host.txt'"

  t=$(now_ms)
  # (the CLI's "no network attached" notice is dropped unless a step fails)
  if ! out=$(as_user incus init "$REPOMAN_CI_BUSYBOX_ALIAS" "$c" --project "$p" -c raw.idmap="uid $uid 1000
gid $gid 1000" 2>&1) ||
    ! out=$(as_user incus config device add "$c" repo disk source="$repo" path="$repo" --project "$p" 2>&1) ||
    ! out=$(as_user incus start "$c" --project "$p" 2>&1); then
    die "launch failed: $out"
  fi
  say "launched $REPOMAN_CI_BUSYBOX_ALIAS with raw.idmap and the repo disk ($(elapsed "$t"))"

  ex() { as_user incus exec "$c" --project "$p" "$@"; }
  out=$(ex --user 1000 --group 1000 --env HOME=/home/ubuntu --cwd "$repo" -- \
    sh -c 'id -u; id -g; stat -c %u:%g host.txt; cat host.txt; echo from-1000 >by-1000.txt' 2>&1) || true
  if [ "$out" = $'1000\n1000\n1000:1000\nfrom-host' ]; then
    ok "host file owned by $uid:$gid is 1000:1000 inside"
  else
    bad "inside view as uid 1000: $out"
  fi
  own=$(stat -c %u:%g "$repo/by-1000.txt" 2>/dev/null || echo missing)
  if [ "$own" = "$uid:$gid" ]; then
    ok "file written by container uid 1000 is $own on the host"
  else
    bad "file written by container uid 1000 is $own on the host (want $uid:$gid)"
  fi

  ex -- sh -c "echo from-root >'$repo/by-root.txt'; cp /bin/busybox '$repo/suid'; chmod 4755 '$repo/suid'" ||
    bad "container root could not write to the repo"
  root_own=$(stat -c %u:%g "$repo/by-root.txt" 2>/dev/null || echo missing)
  if [ "$root_own" != missing ] && [ "${root_own%%:*}" -ge 65536 ]; then
    ok "file written by container root is $root_own on the host (unprivileged)"
  else
    bad "file written by container root is $root_own on the host"
  fi
  own=$(stat -c '%u %A' "$repo/suid" 2>/dev/null || echo missing)
  if [ "${own%% *}" = "${root_own%%:*}" ]; then
    ok "setuid file made by container root: $own (setuid to an unprivileged uid)"
  else
    bad "setuid file made by container root: $own"
  fi

  # refused WHAT PATTERN INCUS-ARGS...: the change must fail with PATTERN in the error.
  refused() {
    local what=$1 pattern=$2 err
    shift 2
    if err=$(as_user incus "$@" --project "$p" 2>&1); then
      bad "$what was accepted"
    elif [[ "$err" == *"$pattern"* ]]; then
      ok "$what refused: ${err#Error: }"
    else
      bad "$what failed otherwise: $err"
    fi
  }
  refused "disk source /etc" 'Disk source path "/etc" not allowed' config device add "$c" bad disk source=/etc path=/mnt/etc
  refused "raw.idmap of host root" 'is forbidden' config set "$c" raw.idmap "both 0 0"
  refused "privileged container" 'Privileged containers are forbidden' config set "$c" security.privileged=true

  t=$(now_ms)
  out=$(as_user curl -s --unix-socket "$INCUS_SOCKET" -X DELETE "http://x/1.0/projects/$p?force=true")
  if [[ "$out" == *'"status_code":200'* ]] && ! as_user incus project show "$p" >/dev/null 2>&1; then
    ok "project $p force-deleted ($(elapsed "$t"))"
  else
    bad "project delete: $out"
  fi
  rm -rf --one-file-system "$repo"
  trap - EXIT
  [ "$fails" -eq 0 ] || die "$fails check(s) failed"
  say "verified as $user in $(elapsed "$t0")"
}

case "${1:-}" in
  "") setup ;;
  --verify) verify ;;
  *) die "usage: $0 [--verify]" ;;
esac
