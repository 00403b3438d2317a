#!/usr/bin/env bash
# The backup roots the sync tests need (this kernel has no NFS client, and the
# test user cannot mount): a tmpfs owned by the test user, and a read-only
# bind mount of it. Mounting needs root, so it happens here, not in the tests.
#
#   scripts/incus/backup-mounts.sh            mount both (idempotent)
#   scripts/incus/backup-mounts.sh --unmount  unmount both (only these two)
#
# test-as-user.sh passes them to the tests as REPOMAN_CI_BACKUP_MOUNT and
# REPOMAN_CI_BACKUP_RO_MOUNT when they are mounted.
set -euo pipefail
SCRIPT_NAME=backup-mounts
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root

case "${1:-}" in
  --unmount)
    for m in "$REPOMAN_CI_BACKUP_RO_MOUNT" "$REPOMAN_CI_BACKUP_MOUNT"; do
      if mountpoint -q "$m"; then umount "$m" && say "unmounted $m"; fi
      rmdir "$m" 2>/dev/null || true
    done
    rmdir "$(dirname "$REPOMAN_CI_BACKUP_MOUNT")" 2>/dev/null || true
    exit 0
    ;;
  "") ;;
  *) die "usage: $0 [--unmount]" ;;
esac

[ -f "$REPOMAN_CI_STATE/env" ] || die "$REPOMAN_CI_STATE/env missing: run scripts/incus/test-user.sh first"
# shellcheck disable=SC1091
. "$REPOMAN_CI_STATE/env"
backup=$REPOMAN_CI_BACKUP_MOUNT
backup_ro=$REPOMAN_CI_BACKUP_RO_MOUNT
install -d -m 0755 "$backup" "$backup_ro"
if mountpoint -q "$backup"; then
  say "$backup already mounted"
else
  mount -t tmpfs -o "size=256m,mode=0755,uid=$REPOMAN_CI_UID,gid=$REPOMAN_CI_GID" repoman-ci-backup "$backup"
  say "mounted a tmpfs at $backup"
fi
if mountpoint -q "$backup_ro"; then
  say "$backup_ro already mounted"
else
  mount --bind "$backup" "$backup_ro"
  mount -o remount,bind,ro "$backup_ro"
  say "mounted a read-only view of $backup at $backup_ro"
fi
