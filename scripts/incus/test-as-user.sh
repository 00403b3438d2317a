#!/usr/bin/env bash
# Run a command of this checkout as the non-root test user, the way users run
# repoman: on a copy of the checkout that the user owns. The checkout itself
# is never chowned or changed.
#
#   scripts/incus/test-as-user.sh                      pnpm test (integration included)
#   scripts/incus/test-as-user.sh pnpm exec vitest run packages/cli/test/exec.test.ts
#   scripts/incus/test-as-user.sh --as repoman-ci2 CMD  the same as another provisioned user
#
# Needs test-user.sh, start.sh and images.sh done (it reads
# $REPOMAN_CI_STATE/env) and a built checkout (scripts/setup.sh). The copy is
# kept in the user's home under checkouts/<hash of this checkout's path>, and
# brought up to date with rsync on every run (a few seconds after the first).
#
# The environment the tests get: the user's HOME, USER and PATH (with the
# copy's .tools/bin first), CI, REPOMAN_INTEGRATION=1, the variables of
# $REPOMAN_CI_STATE/env and $REPOMAN_CI_STATE/env.d/*.env (where other
# provisioning scripts record what they made), and REPOMAN_CI_BACKUP_MOUNT /
# REPOMAN_CI_BACKUP_RO_MOUNT when they are mounted (backup-mounts.sh).
# With --as USER (a user a provisioning script made, e.g. scripts/ci/leastpriv.sh's repoman-ci2),
# the copy and the run are that user's, and $REPOMAN_CI_STATE/env.d/as-USER.vars is added last (its
# NAME=value lines win: INCUS_SOCKET= to let the client pick its socket, say).
set -euo pipefail
SCRIPT_NAME=test-as-user
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
require_root

root=$(cd "$here/../.." && pwd)
[ -f "$REPOMAN_CI_STATE/env" ] || die "$REPOMAN_CI_STATE/env missing: run scripts/incus/test-user.sh first"
set -a
# shellcheck disable=SC1091
. "$REPOMAN_CI_STATE/env"
set +a
[ -x "$root/.tools/bin/pnpm" ] || die "no .tools/bin/pnpm in $root: run scripts/setup.sh first"

as_vars=""
if [ "${1:-}" = "--as" ]; then
  [ $# -ge 2 ] || die "usage: $0 [--as USER] [CMD...]"
  id -u "$2" >/dev/null 2>&1 || die "no user $2"
  REPOMAN_CI_USER=$2
  REPOMAN_CI_UID=$(id -u "$2")
  REPOMAN_CI_GID=$(id -g "$2")
  REPOMAN_CI_HOME=$(getent passwd "$2" | cut -d: -f6)
  as_vars="$REPOMAN_CI_STATE/env.d/as-$2.vars"
  [ -f "$as_vars" ] || die "$as_vars missing: run the script that provisions $2"
  shift 2
fi

key=$(printf '%s' "$root" | sha256sum | cut -c1-12)
work="$REPOMAN_CI_HOME/checkouts/$key"
t=$(now_ms)
install -d -o "$REPOMAN_CI_UID" -g "$REPOMAN_CI_GID" -m 0755 "$REPOMAN_CI_HOME/checkouts"
install -d -o "$REPOMAN_CI_UID" -g "$REPOMAN_CI_GID" -m 0755 "$work"
# Symlinks stay symlinks: pnpm's node_modules links and .tools/bin are relative.
rsync -a --delete --chown="$REPOMAN_CI_UID:$REPOMAN_CI_GID" "$root/" "$work/"
say "copied $root to $work ($(elapsed "$t"))"

[ $# -gt 0 ] || set -- pnpm test
# What the tests are told: every variable of $REPOMAN_CI_STATE/env and of the
# provisioning scripts' own files in $REPOMAN_CI_STATE/env.d/*.env (one
# NAME=value per line), and the backup mounts when they are mounted.
vars=()
for f in "$REPOMAN_CI_STATE/env" "$REPOMAN_CI_STATE"/env.d/*.env ${as_vars:+"$as_vars"}; do
  [ -f "$f" ] || continue
  while IFS= read -r line; do
    case "$line" in
      [A-Za-z_]*=*) vars+=("$line") ;;
    esac
  done <"$f"
done
if mountpoint -q "$REPOMAN_CI_BACKUP_MOUNT" && mountpoint -q "$REPOMAN_CI_BACKUP_RO_MOUNT"; then
  vars+=(REPOMAN_CI_BACKUP_MOUNT="$REPOMAN_CI_BACKUP_MOUNT" REPOMAN_CI_BACKUP_RO_MOUNT="$REPOMAN_CI_BACKUP_RO_MOUNT")
fi

cd "$work"
exec runuser -u "$REPOMAN_CI_USER" -- env -i \
  HOME="$REPOMAN_CI_HOME" USER="$REPOMAN_CI_USER" LOGNAME="$REPOMAN_CI_USER" \
  PATH="$work/.tools/bin:/usr/local/bin:/usr/bin:/bin" \
  LANG=C.UTF-8 CI="${CI:-}" TERM="${TERM:-dumb}" \
  REPOMAN_INTEGRATION=1 \
  "${vars[@]}" \
  "$@"
