# Shared settings and helpers for scripts/incus/*.sh. Source it, do not run it.
# shellcheck shell=bash disable=SC2034  # settings are used by the sourcing scripts
#
# Every setting can be overridden from the environment; the defaults are what
# CI uses. Keep them in sync with scripts/incus/README.md.

: "${REPOMAN_CI_CACHE:=/var/cache/repoman-ci}"            # built image tarballs (kept between runs)
: "${REPOMAN_CI_STATE:=/var/lib/repoman-ci}"              # env file for tests
: "${REPOMAN_CI_RUN_DIR:=/run/repoman-ci}"                # incusd.pid of the incusd start.sh started
: "${REPOMAN_CI_USER:=repoman-ci}"                        # non-root test user
: "${REPOMAN_CI_UID:=1500}"                               # its uid and gid (deliberately not 1000)
: "${REPOMAN_CI_REPOS_ROOT:=/home/$REPOMAN_CI_USER/repos}" # repos root owned by the test user
: "${REPOMAN_CI_POOL:=default}"                           # storage pool name
: "${REPOMAN_CI_POOL_DRIVER:=btrfs}"                      # storage pool driver: btrfs (loop file) or dir
: "${REPOMAN_CI_POOL_SIZE:=20GiB}"                        # btrfs loop file size (sparse)
: "${REPOMAN_CI_BUSYBOX_ALIAS:=repoman-busybox}"
: "${REPOMAN_CI_DEBIAN_ALIAS:=repoman-debian}"
: "${REPOMAN_CI_BACKUP_MOUNT:=/mnt/repoman-ci/backup}"      # tmpfs backup root for the sync tests
: "${REPOMAN_CI_BACKUP_RO_MOUNT:=/mnt/repoman-ci/backup-ro}" # read-only view of it
: "${INCUS_GROUP:=incus-admin}"                           # group that owns the incusd unix socket

INCUSD=/usr/libexec/incus/incusd
INCUS_SOCKET=/var/lib/incus/unix.socket
INCUSD_LOG=/var/log/incus/incusd.log    # daemon log (instance logs are beside it)
INCUSD_PID="$REPOMAN_CI_RUN_DIR/incusd.pid"

say() { printf '[%s] %s\n' "${SCRIPT_NAME:-incus}" "$*"; }
die() { printf '[%s] error: %s\n' "${SCRIPT_NAME:-incus}" "$*" >&2; exit 1; }

require_root() { [ "$(id -u)" -eq 0 ] || die "run as root"; }

# Milliseconds since the epoch, for timings.
now_ms() { date +%s%3N; }
# elapsed START_MS -> "1.234s"
elapsed() { local d=$(( $(now_ms) - $1 )); printf '%d.%03ds' $((d / 1000)) $((d % 1000)); }

pkg_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

os_codename() { (. /etc/os-release && echo "${VERSION_CODENAME:-}"); }

# The Debian archive URL the machine already uses for its main suite (for
# backports and mmdebstrap), else deb.debian.org.
debian_archive_url() {
  local codename url f
  codename=$(os_codename)
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    url=$(awk -v s="$codename" 'BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""; types = ""; enabled = 1
        for (i = 1; i <= NF; i++) {
          l = $i
          if (l ~ /^[ \t]*#/) continue
          if (l ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l); uris = l }
          else if (l ~ /^Suites:/) { sub(/^Suites:/, "", l); suites = " " l " " }
          else if (l ~ /^Types:/) { sub(/^Types:/, "", l); types = " " l " " }
          else if (l ~ /^Enabled:[ \t]*no/) enabled = 0
        }
        if (enabled && types ~ /[ \t]deb[ \t]/ && suites ~ ("[ \t]" s "[ \t]")) { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "$f")
    [ -n "$url" ] && { echo "${url%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    url=$(sed -E 's/\[[^]]*\]//' "$f" | awk -v s="$codename" '$1 == "deb" && $3 == s { print $2; exit }')
    [ -n "$url" ] && { echo "${url%/}"; return; }
  done
  echo "http://deb.debian.org/debian"
}

# --- incusd -------------------------------------------------------------------

# True when something answers on the incusd socket.
incus_up() { [ -S "$INCUS_SOCKET" ] && incus query /1.0 >/dev/null 2>&1; }

# PID recorded by start.sh, if that process is still an incusd.
our_incusd_pid() {
  local pid
  [ -f "$INCUSD_PID" ] || return 1
  pid=$(cat "$INCUSD_PID" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$INCUSD" ] || return 1
  echo "$pid"
}

# Stop incusd gracefully (stops running instances too). Waits for the process
# start.sh started, and kills only that PID if it does not exit.
incus_shutdown() {
  local pid
  pid=$(our_incusd_pid) || pid=""
  if incus_up; then
    say "stopping incusd (incus admin shutdown)"
    incus admin shutdown --timeout 60 >/dev/null 2>&1 || true
  fi
  if [ -n "$pid" ]; then
    for _ in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    if [ -d "/proc/$pid" ]; then
      say "incusd (pid $pid) did not exit: sending TERM"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
    rm -f "$INCUSD_PID"
  fi
  for _ in $(seq 1 100); do incus_up || return 0; sleep 0.1; done
  die "incusd still answers after shutdown (not started by start.sh?)"
}
