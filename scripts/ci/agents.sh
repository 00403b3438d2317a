#!/usr/bin/env bash
# CI provisioning for the agent tests (issue 13): installs the real agent CLIs
# from the npm registry, each into a global prefix of its own that the test
# user can read, and records where in $REPOMAN_CI_STATE/env.d/agents.env:
#
#   REPOMAN_CI_AGENTS=<dir>   <dir>/<agent>/bin/<command> and
#                             <dir>/<agent>/lib/node_modules/<package>
#
# Also makes sure openssl is there (Debian's package): the Claude refresh test
# makes a throwaway CA and certificate with it.
#
# Pinned versions (those the research for issue 13 was done with); a prefix
# whose package.json already names the pinned version is left alone, so a
# rerun takes well under a second. Needs node and npm on PATH (scripts/setup.sh's
# .tools/bin). About 1.1 GB on disk; nothing is cached off the machine.
set -euo pipefail
SCRIPT_NAME=ci-agents
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../incus/lib.sh"
require_root
command -v npm >/dev/null || die "npm is not on PATH: run scripts/setup.sh and put .tools/bin on PATH"

: "${REPOMAN_CI_AGENTS:=/opt/repoman-ci/agents}"
agents=(
  "claude @anthropic-ai/claude-code 2.1.332"
  "codex @openai/codex 0.171.0"
  "gemini @google/gemini-cli 0.61.0"
  "pi @mariozechner/pi-coding-agent 0.73.1"
)

if ! command -v openssl >/dev/null; then
  t=$(now_ms)
  apt-get install -y --no-install-recommends openssl >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends openssl >/dev/null; }
  say "installed openssl ($(elapsed "$t"))"
fi

install -d -m 0755 "$REPOMAN_CI_AGENTS"
for entry in "${agents[@]}"; do
  read -r name package version <<<"$entry"
  prefix="$REPOMAN_CI_AGENTS/$name"
  manifest="$prefix/lib/node_modules/$package/package.json"
  if [ -f "$manifest" ] && grep -q "\"version\": \"$version\"" "$manifest"; then
    say "$package@$version already in $prefix"
    continue
  fi
  t=$(now_ms)
  rm -rf "$prefix"
  # Install scripts run (claude's postinstall links its native binary into bin/claude.exe).
  npm install --global --prefix "$prefix" --no-audit --no-fund --loglevel=error "$package@$version" >/dev/null
  say "installed $package@$version into $prefix ($(elapsed "$t"))"
done
# Readable (not writable) by the test user, like a system-wide npm prefix.
chmod -R a+rX,go-w "$REPOMAN_CI_AGENTS"

install -d -m 0755 "$REPOMAN_CI_STATE/env.d"
printf 'REPOMAN_CI_AGENTS=%s\n' "$REPOMAN_CI_AGENTS" >"$REPOMAN_CI_STATE/env.d/agents.env"
say "recorded REPOMAN_CI_AGENTS=$REPOMAN_CI_AGENTS in $REPOMAN_CI_STATE/env.d/agents.env"
