#!/usr/bin/env bash
# Install Incus (containers only) and the tools the test images need, on
# Debian 12 (bookworm) as root. Idempotent: skips what is already there and
# does not even run `apt-get update` when nothing is missing.
#
#   scripts/incus/install.sh
#
# - adds bookworm-backports as a deb822 source (same archive URL as the
#   machine's main suite), because bookworm itself has no incus;
# - installs incus-base from backports with --no-install-recommends. That is
#   incusd + the incus client + LXC, without the `incus` metapackage's hard
#   dependencies on QEMU and swtpm (VMs), which containers do not need;
# - installs busybox-static (busybox test image), mmdebstrap (Debian test
#   image), zstd (image tarballs), btrfs-progs (btrfs storage pool), rsync,
#   uidmap, curl.
set -euo pipefail
SCRIPT_NAME=install
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
t0=$(now_ms)

codename=$(os_codename)
[ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
archive=$(debian_archive_url)

# 1. Backports (bookworm only: later releases have incus in main).
incus_target=()
if [ "$codename" = bookworm ]; then
  incus_target=(-t bookworm-backports)
  src=/etc/apt/sources.list.d/bookworm-backports.sources
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  if grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    say "bookworm-backports source already configured"
  else
    {
      echo "Types: deb"
      echo "URIs: $archive"
      echo "Suites: bookworm-backports"
      echo "Components: main"
      [ -f "$keyring" ] && echo "Signed-By: $keyring"
    } >"$src"
    say "added $src (URIs: $archive)"
  fi
fi

# 2. Packages.
want=(incus-base busybox-static mmdebstrap zstd rsync restic uidmap curl)
[ "$REPOMAN_CI_POOL_DRIVER" = btrfs ] && want+=(btrfs-progs)
missing=()
for p in "${want[@]}"; do pkg_installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "already installed: ${want[*]}"
else
  # Lists may be missing or stale (a pinned version vanished from the
  # archive): update whenever anything is to be installed; it takes ~1-2 s.
  t=$(now_ms)
  apt-get update -qq -o DPkg::Lock::Timeout=120
  say "apt-get update ($(elapsed "$t"))"
  t=$(now_ms)
  export DEBIAN_FRONTEND=noninteractive
  # incus-base from backports; the rest from the release. -t only raises the
  # priority of backports for this command, for incus-base's own dependencies
  # that exist only there (libcowsql0, libraft0, incus-client).
  if [[ " ${missing[*]} " == *" incus-base "* ]]; then
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 "${incus_target[@]}" incus-base >/dev/null
    say "installed incus-base $(dpkg-query -W -f='${Version}' incus-base) ($(elapsed "$t"))"
  fi
  rest=()
  for p in "${missing[@]}"; do [ "$p" = incus-base ] || pkg_installed "$p" || rest+=("$p"); done
  if [ ${#rest[@]} -gt 0 ]; then
    t=$(now_ms)
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 "${rest[@]}" >/dev/null
    say "installed ${rest[*]} ($(elapsed "$t"))"
  fi
fi

# 3. The socket group (the package creates it via systemd-sysusers; make sure).
if getent group "$INCUS_GROUP" >/dev/null; then
  say "group $INCUS_GROUP exists"
else
  groupadd --system "$INCUS_GROUP"
  say "created group $INCUS_GROUP"
fi

[ -x "$INCUSD" ] || die "$INCUSD missing after install"
say "incus $(incus --version) ready to start (scripts/incus/start.sh); took $(elapsed "$t0")"
