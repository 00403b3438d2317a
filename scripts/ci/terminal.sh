#!/usr/bin/env bash
# CI provisioning for the terminal tests of `exec`, `run` and `shell`
# (issue 17): tmux, from Debian's archive, gives the tests a real terminal to
# drive (keys in, screen out, resizes, hang-ups). Records where it is in
# $REPOMAN_CI_STATE/env.d/terminal.env:
#
#   REPOMAN_CI_TMUX=/usr/bin/tmux
#
# Idempotent: with tmux installed it only rewrites the env file.
set -euo pipefail
SCRIPT_NAME=ci-terminal
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../incus/lib.sh"
require_root

if pkg_installed tmux; then
  say "tmux $(dpkg-query -W -f='${Version}' tmux) already installed"
else
  t=$(now_ms)
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux >/dev/null; }
  say "installed tmux $(dpkg-query -W -f='${Version}' tmux) ($(elapsed "$t"))"
fi

tmux=$(command -v tmux) || die "tmux is not on PATH after installing it"
install -d -m 0755 "$REPOMAN_CI_STATE/env.d"
printf 'REPOMAN_CI_TMUX=%s\n' "$tmux" >"$REPOMAN_CI_STATE/env.d/terminal.env"
say "recorded REPOMAN_CI_TMUX=$tmux in $REPOMAN_CI_STATE/env.d/terminal.env"
