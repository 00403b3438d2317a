#!/usr/bin/env bash
# Set up a working checkout of repoman on a fresh Debian/Ubuntu machine.
#
#   scripts/setup.sh        install Node >= 22.19 and pnpm if needed, install
#                           dependencies, build every package.
#
# Idempotent: every step checks first and says what it did or why it skipped.
# Tools it installs live in .tools/ inside the checkout; .tools/bin holds
# `node`, `npm`, `pnpm` and `repoman` (this checkout's command) and is what the
# README puts on PATH.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

NODE_SPEC="24.21.0"          # installed from the npm registry (package node@24) when the host's node is too old
NODE_MIN_MAJOR=22
NODE_MIN_MINOR=19
PNPM_VERSION=$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' package.json)
tools="$root/.tools"
bin="$tools/bin"

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

node_ok() {
  local v
  v=$("$1" --version 2>/dev/null) || return 1
  v=${v#v}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt "$NODE_MIN_MAJOR" ] || { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -ge "$NODE_MIN_MINOR" ]; }
}

mkdir -p "$bin"

# Installs an npm package into its own prefix under .tools/.
npm_install_into() {
  local dir=$1 spec=$2
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private":true}' >"$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$spec" >/dev/null
}

# 1. A bootstrap npm (any version) to fetch Node 24 from the npm registry.
if ! command -v npm >/dev/null 2>&1 && ! [ -x "$tools/node/node_modules/node/bin/node" ]; then
  say "no npm on this machine: installing Debian's nodejs and npm"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

# 2. Node >= 22.19.
if [ -x "$bin/node" ] && node_ok "$bin/node"; then
  say "node $("$bin/node" --version) already in .tools/bin"
elif command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then
  ln -sfn "$(command -v node)" "$bin/node"
  say "using the host's node $(node --version)"
else
  say "host node is $(node --version 2>/dev/null || echo missing), need >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR: installing node@$NODE_SPEC from the npm registry into .tools/node"
  npm_install_into "$tools/node" "node@$NODE_SPEC"
  # Relative, so a copy of the checkout (as .ci/run makes for the test user) keeps working.
  ln -sfn ../node/node_modules/node/bin/node "$bin/node"
  say "installed node $("$bin/node" --version)"
fi
export PATH="$bin:$PATH"

# 3. npm and pnpm running on that node (pnpm pinned by packageManager).
if [ -x "$bin/pnpm" ] && [ "$("$bin/pnpm" --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  say "pnpm $PNPM_VERSION already in .tools/bin"
else
  say "installing pnpm@$PNPM_VERSION into .tools/pnpm"
  npm_install_into "$tools/pnpm" "pnpm@$PNPM_VERSION"
  # Finds node and pnpm beside itself: the checkout can be copied or moved.
  cat >"$bin/pnpm" <<'SH'
#!/bin/sh
bin=$(dirname "$(readlink -f "$0")")
exec "$bin/node" "$bin/../pnpm/node_modules/pnpm/bin/pnpm.cjs" "$@"
SH
  chmod +x "$bin/pnpm"
  say "installed pnpm $("$bin/pnpm" --version)"
fi
if ! [ -x "$bin/npm" ]; then
  npm_cli=$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js
  if [ -f "$npm_cli" ]; then
    printf '#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/node" "%s" "$@"\n' "$npm_cli" >"$bin/npm"
    chmod +x "$bin/npm"
  fi
fi

# 4. Dependencies and build.
say "pnpm install"
if [ -f pnpm-lock.yaml ]; then pnpm install --frozen-lockfile --reporter=silent; else pnpm install --reporter=silent; fi
say "building all packages"
pnpm run -s build

# 5. The command: .tools/bin/repoman runs this checkout's bundle on .tools/bin/node,
# whatever node is first on PATH, also through a symlink (~/.local/bin/repoman).
cat >"$bin/repoman" <<'SH'
#!/bin/sh
bin=$(dirname "$(readlink -f "$0")")
exec "$bin/node" "$bin/../../packages/cli/bin/repoman.js" "$@"
SH
chmod +x "$bin/repoman"
say "done: $("$bin/repoman" --version) in .tools/bin/repoman"
say "put the toolchain on PATH in your shell with:  export PATH=\"$bin:\$PATH\""
say "or only the command, for good:  mkdir -p ~/.local/bin && ln -sfn \"$bin/repoman\" ~/.local/bin/repoman"
