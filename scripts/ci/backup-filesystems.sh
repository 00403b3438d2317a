#!/usr/bin/env bash
# CI provisioning for the checkpoint and backup-generation tests (issue 14):
# real filesystems the test user owns, which it cannot make itself.
#
#   scripts/ci/backup-filesystems.sh            make and mount them (idempotent)
#   scripts/ci/backup-filesystems.sh --mounted  exit 0 when they are mounted
#   scripts/ci/backup-filesystems.sh --unmount  unmount them and drop the images
#
# Under $REPOMAN_CI_FS (/mnt/repoman-ci/fs), each owned by the test user, 0755:
#   ext4/    a loop-mounted ext4 (sparse 2 GiB image, 600k inodes): plain
#            copies, hard links, no reflinks
#   btrfs/   a loop-mounted btrfs (sparse 2 GiB image): reflinks, and
#            subvolumes the user makes and snapshots without privileges
#   small/   a 40 MiB tmpfs: a backup root that runs out of space mid-sync
# A fresh run makes fresh filesystems (mkfs each time it mounts), so no test
# sees what an earlier run left. The images live in $REPOMAN_CI_STATE/fs.
#
# Records in $REPOMAN_CI_STATE/env.d/backups.env (test-as-user.sh passes
# them on): REPOMAN_CI_FS_EXT4, REPOMAN_CI_FS_BTRFS, REPOMAN_CI_FS_SMALL.
# The test for `umount -l` during a sync needs no root: it mounts its own
# tmpfs in a user and mount namespace (unshare -Urm).
set -euo pipefail
SCRIPT_NAME=ci-backup-filesystems
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../incus/lib.sh"

: "${REPOMAN_CI_FS:=/mnt/repoman-ci/fs}"
images="$REPOMAN_CI_STATE/fs"
env_file="$REPOMAN_CI_STATE/env.d/backups.env"
names=(ext4 btrfs small)

case "${1:-}" in
  --mounted)
    for n in "${names[@]}"; do mountpoint -q "$REPOMAN_CI_FS/$n" || exit 1; done
    exit 0
    ;;
  --unmount)
    require_root
    for n in "${names[@]}"; do
      if mountpoint -q "$REPOMAN_CI_FS/$n"; then umount "$REPOMAN_CI_FS/$n" && say "unmounted $REPOMAN_CI_FS/$n"; fi
      rmdir "$REPOMAN_CI_FS/$n" 2>/dev/null || true
    done
    rmdir "$REPOMAN_CI_FS" 2>/dev/null || true
    rm -f "$images/ext4.img" "$images/btrfs.img" "$env_file"
    rmdir "$images" 2>/dev/null || true
    exit 0
    ;;
  "") ;;
  *) die "usage: $0 [--mounted | --unmount]" ;;
esac

require_root
[ -f "$REPOMAN_CI_STATE/env" ] || die "$REPOMAN_CI_STATE/env missing: run scripts/incus/test-user.sh first"
# shellcheck disable=SC1091
. "$REPOMAN_CI_STATE/env"
command -v mkfs.btrfs >/dev/null || die "mkfs.btrfs missing: run scripts/incus/install.sh (btrfs-progs)"
owner="$REPOMAN_CI_UID:$REPOMAN_CI_GID"
install -d -m 0755 "$images" "$REPOMAN_CI_FS" "$REPOMAN_CI_STATE/env.d"

loop_fs() { # NAME MKFS-ARGV...
  local name=$1 img="$images/$1.img" dir="$REPOMAN_CI_FS/$1"
  shift
  install -d -m 0755 "$dir"
  if mountpoint -q "$dir"; then
    say "$dir already mounted"
    return
  fi
  rm -f "$img"
  truncate -s 2G "$img"
  "$@" "$img" >/dev/null
  mount -o loop "$img" "$dir"
  chown "$owner" "$dir"
  chmod 0755 "$dir"
  say "mounted a fresh $name filesystem at $dir (image $img)"
}

loop_fs ext4 mkfs.ext4 -q -F -N 600000 -E root_owner="$owner"
loop_fs btrfs mkfs.btrfs -q -f
small="$REPOMAN_CI_FS/small"
install -d -m 0755 "$small"
if mountpoint -q "$small"; then
  say "$small already mounted"
else
  mount -t tmpfs -o "size=40m,mode=0755,uid=$REPOMAN_CI_UID,gid=$REPOMAN_CI_GID" repoman-ci-small "$small"
  say "mounted a 40 MiB tmpfs at $small"
fi

cat >"$env_file" <<EOF
# Written by scripts/ci/backup-filesystems.sh: filesystems for the checkpoint and backup tests.
REPOMAN_CI_FS_EXT4=$REPOMAN_CI_FS/ext4
REPOMAN_CI_FS_BTRFS=$REPOMAN_CI_FS/btrfs
REPOMAN_CI_FS_SMALL=$REPOMAN_CI_FS/small
EOF
say "recorded them in $env_file"
