#!/usr/bin/env bash
# Build the test images locally (no image server) and import them into the
# default project, where repoman's projects (features.images=false) see them.
#
#   scripts/incus/images.sh             busybox image  -> alias repoman-busybox
#   scripts/incus/images.sh --debian    also Debian    -> alias repoman-debian
#   scripts/incus/images.sh --rebuild   ignore the cache and build again
#   (REPOMAN_CI_DEBIAN=1 is the same as --debian)
#
# repoman-busybox: ~1 MB; busybox-static linked as every applet, busybox init
#   (stays running, halts on SIGPWR), /etc/passwd with root and
#   ubuntu (uid/gid 1000, home /home/ubuntu owned 1000:1000), /etc/group with
#   gid 1000. Builds in well under a second.
# repoman-debian: mmdebstrap --variant=minbase bookworm with systemd-sysv,
#   openssh-server and git, user ubuntu (uid/gid 1000, /home/ubuntu, bash);
#   ~85 MB compressed. Opt-in: the build takes 30-60 s.
#
# Built tarballs are cached in $REPOMAN_CI_CACHE (/var/cache/repoman-ci) under
# a name that includes a hash of the recipe (the build function's text, the
# package versions it uses), so a rerun neither builds nor imports again: the
# tarball is reproducible (fixed mtimes, sorted), and its sha256 is
# the Incus image fingerprint, which is compared with the alias's target.
set -euo pipefail
SCRIPT_NAME=images
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root

want_debian=${REPOMAN_CI_DEBIAN:-0}
rebuild=0
for a in "$@"; do
  case "$a" in
    --debian) want_debian=1 ;;
    --rebuild) rebuild=1 ;;
    *) die "usage: $0 [--debian] [--rebuild]" ;;
  esac
done

incus_up || die "incusd is not running: run scripts/incus/start.sh first"
mkdir -p "$REPOMAN_CI_CACHE"
exec 9>"$REPOMAN_CI_CACHE/.lock"
flock 9 # one images.sh at a time
ARCH=$(uname -m)
EPOCH=1700000000 # fixed timestamps: reproducible tarballs, stable fingerprints
umask 022

# A build dir left by a failed run is removed (after unmounting anything
# mmdebstrap mounted inside it) on exit, and stale ones on start.
work=""
cleanup() {
  [ -n "$work" ] && [ -e "$work" ] || return 0
  local m
  awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
# Build in RAM when there is room (the Debian build is I/O bound: ~30 s in
# /dev/shm against 50-75 s on this disk), else in the cache dir.
build_root=$REPOMAN_CI_CACHE
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((2 * 1024 * 1024)) ]; then
  build_root=/dev/shm
fi
for stale in "$REPOMAN_CI_CACHE"/.build-* /dev/shm/.build-* "$REPOMAN_CI_CACHE"/*.tmp; do
  [ -e "$stale" ] || continue
  work=$stale; cleanup; work=""
done

# metadata.yaml + templates/ for an image rooted at $1 (the dir above rootfs/).
write_metadata() {
  local dir=$1 os=$2 release=$3 desc=$4
  cat >"$dir/metadata.yaml" <<EOF
architecture: $ARCH
creation_date: $EPOCH
properties:
  architecture: $ARCH
  description: $desc
  os: $os
  release: "$release"
templates:
  /etc/hostname:
    when: [create, copy, rename]
    template: hostname.tpl
  /etc/hosts:
    when: [create, copy, rename]
    template: hosts.tpl
EOF
  mkdir -p "$dir/templates"
  printf '{{ instance.name }}\n' >"$dir/templates/hostname.tpl"
  printf '127.0.0.1 localhost\n127.0.1.1 {{ instance.name }}\n::1 localhost ip6-localhost ip6-loopback\n' >"$dir/templates/hosts.tpl"
}

# Reproducible unified image tarball of $1 (metadata.yaml, templates, rootfs)
# into $2; zstd: 5x faster than gzip -1 here, and Incus imports it.
pack() {
  local dir=$1 out=$2
  tar -C "$dir" --sort=name --mtime="@$EPOCH" --numeric-owner --format=gnu \
    -cf - metadata.yaml templates rootfs | zstd -q -T0 -3 >"$out.tmp"
  mv "$out.tmp" "$out"
}

build_busybox() {
  local dir=$1 r=$1/rootfs a
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,run,tmp,var/log,root,home/ubuntu}
  chmod 1777 "$r/tmp"
  chmod 0700 "$r/root"
  cp /bin/busybox "$r/bin/busybox"
  while read -r a; do
    [ "$a" = bin/busybox ] || ln -sf /bin/busybox "$r/$a"
  done < <(/bin/busybox --list-full)
  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
ubuntu:x:1000:1000:ubuntu:/home/ubuntu:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$r/etc/group" <<'EOF'
root:x:0:
ubuntu:x:1000:
nogroup:x:65534:
EOF
  printf 'root:*:19000:0:99999:7:::\nubuntu:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
  chmod 0640 "$r/etc/shadow"
  # busybox init: nothing to run but keep PID 1 alive; halts on SIGPWR (incus stop).
  cat >"$r/etc/inittab" <<'EOF'
::sysinit:/bin/hostname -F /etc/hostname
::shutdown:/bin/sync
EOF
  echo busybox >"$r/etc/hostname"
  chown -R 1000:1000 "$r/home/ubuntu"
  write_metadata "$dir" busybox "$(/bin/busybox | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')" "repoman test image (busybox)"
}

DEBIAN_SUITE=bookworm
DEBIAN_INCLUDE=${REPOMAN_CI_DEBIAN_INCLUDE:-systemd-sysv,openssh-server,git}
build_debian() {
  local dir=$1 r=$1/rootfs mirror
  mirror=$(debian_archive_url)
  # mmdebstrap (apt, no recommends) with eatmydata (no fsync in dpkg) and
  # without docs/man/locales: about half the time of debootstrap here.
  mmdebstrap --variant=minbase --include="$DEBIAN_INCLUDE" \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$DEBIAN_SUITE" "$r" "$mirror" >"$dir/mmdebstrap.log" 2>&1 ||
    { tail -n 30 "$dir/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
  chroot "$r" groupadd -g 1000 ubuntu
  chroot "$r" useradd -m -u 1000 -g 1000 -s /bin/bash ubuntu
  # Per-instance identity is made on first boot; no caches or logs in the image.
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
  rm -rf "$r"/var/cache/apt/*.bin "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/tmp/* 2>/dev/null || true
  echo debian >"$r/etc/hostname"
  write_metadata "$dir" debian "$DEBIAN_SUITE" "repoman test image (Debian $DEBIAN_SUITE minbase, ssh, git)"
}

# image NAME ALIAS BUILD_FN KEY_EXTRA
image() {
  local name=$1 alias=$2 fn=$3 extra=$4 key tarball t fp cur
  key=$( { declare -f "$fn" write_metadata pack; echo "$ARCH $extra"; } | sha256sum | cut -c1-12)
  tarball="$REPOMAN_CI_CACHE/$name-$key.tar.zst"

  if [ -f "$tarball" ] && [ "$rebuild" -eq 0 ]; then
    say "$name: cached $tarball ($(du -h "$tarball" | cut -f1))"
  else
    t=$(now_ms)
    work=$(mktemp -d "$build_root/.build-$name.XXXXXX")
    "$fn" "$work"
    pack "$work" "$tarball"
    cleanup
    work=""
    # Keep only the current recipe's tarball.
    find "$REPOMAN_CI_CACHE" -maxdepth 1 -name "$name-*.tar*" ! -path "$tarball" -delete
    say "$name: built $tarball ($(du -h "$tarball" | cut -f1), $(elapsed "$t"))"
  fi

  fp=$(sha256sum "$tarball" | cut -c1-64)
  cur=$(incus image info "$alias" 2>/dev/null | awk '/^Fingerprint:/ { print $2 }') || true
  if [ "$cur" = "$fp" ]; then
    say "$name: alias $alias -> ${fp:0:12} already imported"
    return
  fi
  t=$(now_ms)
  [ -n "$cur" ] && incus image alias delete "$alias" >/dev/null
  if incus image info "$fp" >/dev/null 2>&1; then
    incus image alias create "$alias" "$fp" >/dev/null
  else
    incus image import "$tarball" --alias "$alias" >/dev/null
  fi
  # Drop the image the alias pointed to before, unless another alias uses it.
  if [ -n "$cur" ] && ! incus image alias list -f csv -c f | grep -qx "${cur:0:12}"; then
    incus image delete "$cur" >/dev/null 2>&1 || true
  fi
  say "$name: imported as $alias -> ${fp:0:12} ($(elapsed "$t"))"
}

t0=$(now_ms)
image busybox "$REPOMAN_CI_BUSYBOX_ALIAS" build_busybox "$(dpkg-query -W -f='${Version}' busybox-static)"
if [ "$want_debian" = 1 ]; then
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing: run scripts/incus/install.sh"
  image debian "$REPOMAN_CI_DEBIAN_ALIAS" build_debian "$DEBIAN_SUITE $DEBIAN_INCLUDE"
fi
say "images ready ($(elapsed "$t0"))"
