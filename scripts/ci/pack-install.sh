#!/usr/bin/env bash
# The packages as a third party gets them: pack every package of the
# workspace (and both plugin templates), install the tarballs into a fresh
# directory outside the workspace (third-party dependencies such as effect come
# from the npm registry, the @repoman ones only from the tarballs), and run
# there:
#
#   1. the tarballs: no .tsbuildinfo, no workspace: version left, and the CLI
#      package without any dependency;
#   2. a consumer project: the README's library example, type-checked against
#      the installed declarations and run on an empty config dir, where it
#      must print what the installed `repoman list` prints; the root entries;
#      internal modules refused;
#   3. `npm install -g` of the CLI tarball into a prefix, offline (it has no
#      dependencies): `repoman --version` and `repoman --help`;
#   4. both plugin templates installed from their tarballs under a config
#      dir's plugins/: the installed command shows the profile plugin's
#      profiles and syncs a repo with the restic backup plugin; the consumer
#      loads both through RepomanLive (its copy of effect, theirs, and the
#      command's bundled one are three different copies);
#   5. .tools/bin/repoman (scripts/setup.sh) runs with no node on PATH.
#
#   scripts/ci/pack-install.sh          (after scripts/setup.sh; needs restic,
#                                        which scripts/incus/install.sh installs)
#
# Runs as whoever calls it (.ci/run: root); needs no network beyond the npm
# registry. Everything it makes is in one temporary directory, removed at the
# end (kept when REPOMAN_CI_KEEP=1, for a look after a failure).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

say() { printf '[pack-install] %s\n' "$*"; }
die() { printf '[pack-install] error: %s\n' "$*" >&2; exit 1; }

[ -x "$root/.tools/bin/pnpm" ] || die "no .tools/bin/pnpm: run scripts/setup.sh first"
command -v restic >/dev/null || die "restic is missing (scripts/incus/install.sh installs it)"
export PATH="$root/.tools/bin:$PATH"
node_bin="$root/.tools/bin/node"

work=$(mktemp -d /tmp/repoman-pack-install.XXXXXX)
if [ "${REPOMAN_CI_KEEP:-}" = 1 ]; then
  trap 'say "kept $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
tarballs="$work/tarballs"
npm_install() { npm install --no-audit --no-fund --ignore-scripts --loglevel=error "$@" >/dev/null; }

# A clean environment for every program run from the install: no variable of
# this shell (REPOMAN_*, INCUS_SOCKET, XDG_*) leaks in.
home="$work/home"
mkdir -p "$home"
run_clean() {
  env -i PATH="$work/global/bin:$root/.tools/bin:/usr/bin:/bin" HOME="$home" NO_COLOR=1 \
    INCUS_SOCKET="$work/no-incus/unix.socket" "$@"
}

# 1. Build and pack.
t0=$(date +%s)
pnpm run -s build
pnpm --filter repoman-backup-restic --filter @acme/repoman-profiles run -s build
pnpm --filter './packages/*' --filter repoman-backup-restic --filter @acme/repoman-profiles \
  pack --pack-destination "$tarballs" >/dev/null
count=$(find "$tarballs" -name '*.tgz' | wc -l)
[ "$count" -eq 11 ] || die "expected 11 tarballs (9 packages, 2 templates), got $count: $(ls "$tarballs")"
tgz() { local f; f=$(find "$tarballs" -name "$1-[0-9]*.tgz"); [ -n "$f" ] || die "no tarball $1"; echo "$f"; }
for f in "$tarballs"/*.tgz; do
  if tar -tzf "$f" | grep -q 'tsbuildinfo'; then die "$(basename "$f") ships a .tsbuildinfo"; fi
  tar -xzOf "$f" package/package.json >"$work/package.json"
  "$node_bin" -e '
    const pkg = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"))
    const deps = { ...pkg.dependencies, ...pkg.peerDependencies }
    const left = Object.entries(deps).filter(([, v]) => String(v).startsWith("workspace:"))
    if (left.length > 0) throw new Error(`${pkg.name}: workspace versions left: ${JSON.stringify(left)}`)
    if (pkg.name === "@repoman/cli" && Object.keys(deps).length > 0)
      throw new Error(`@repoman/cli has dependencies: ${JSON.stringify(deps)}`)
    if (pkg.peerDependencies?.effect !== undefined && !pkg.peerDependencies.effect.startsWith("^"))
      throw new Error(`${pkg.name}: effect is pinned as a peer: ${pkg.peerDependencies.effect}`)
  ' "$work/package.json"
done
say "packed $count tarballs, checked their contents ($(($(date +%s) - t0)) s)"

# 2. The command, installed globally into a prefix, offline.
t0=$(date +%s)
npm_install --offline -g --prefix "$work/global" "$(tgz repoman-cli)"
[ ! -d "$work/global/lib/node_modules/@repoman/cli/node_modules" ] || die "the CLI installed dependencies"
version=$(run_clean repoman --version)
[ "$version" = "repoman v$(node -p 'require("./packages/cli/package.json").version')" ] || die "repoman --version: $version"
run_clean repoman --help | grep -q '^USAGE' || die "repoman --help printed no usage"
say "npm install -g of the CLI tarball (offline): $version, --help works ($(($(date +%s) - t0)) s)"

# 3. A consumer project with the library packages and the README's example.
t0=$(date +%s)
consumer="$work/consumer"
mkdir -p "$consumer"
echo '{ "private": true, "type": "module" }' >"$consumer/package.json"
(
  cd "$consumer"
  npm_install $(for p in core node programs incus profiles checkpoints backup live; do tgz "repoman-$p"; done) \
    "effect@^4.1.0" "@effect/platform-node@^4.1.0"
)
awk '/<!-- ci: consumer.ts -->/ { on = 1; next } on && /^```ts/ { inside = 1; next } inside && /^```/ { exit } inside { print }' \
  README.md >"$consumer/consumer.ts"
grep -q 'RepomanLive' "$consumer/consumer.ts" || die "no library example in README.md after <!-- ci: consumer.ts -->"
cat >"$consumer/plugins.ts" <<'TS'
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { BackupTarget } from "@repoman/core/BackupTarget"
import { ProfileStore } from "@repoman/core/ProfileStore"
import * as RepomanLive from "@repoman/live/RepomanLive"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

Effect.gen(function*() {
  const entries = yield* (yield* ProfileStore).list()
  const status = yield* (yield* BackupTarget).check()
  const plugin = entries.filter((e) => e.origin._tag === "Plugin").map((e) => e.name)
  yield* Console.log(JSON.stringify({ plugin, location: status.location, reachable: status.reachable }))
}).pipe(Effect.provide(RepomanLive.RepomanLive), NodeRuntime.runMain)
TS
cat >"$consumer/roots.ts" <<'TS'
import * as Backup from "@repoman/backup"
import * as Core from "@repoman/core"
import * as Live from "@repoman/live"
import * as Node from "@repoman/node"
import * as Programs from "@repoman/programs"
import * as Layer from "effect/Layer"

const checks = {
  core: Core.Registry.Registry.key === "@repoman/core/Registry",
  node: typeof Node.PluginModule.load === "function",
  programs: typeof Programs.ListProjects.listProjects === "object",
  backup: typeof Backup.BackupPlugin.define === "function",
  live: Layer.isLayer(Live.RepomanLive.RepomanLive)
}
const refused = await import("@repoman/core/internal/tomlLocate").then(() => "imported", (e: { code?: string }) => e.code)
console.log(JSON.stringify({ ...checks, internal: refused }))
TS
cat >"$consumer/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2023",
    "lib": ["ES2023"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "types": [],
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true
  },
  "include": ["consumer.ts", "plugins.ts"]
}
JSON
"$node_bin" "$root/node_modules/typescript/bin/tsc" -p "$consumer" || die "the library example does not type-check against the installed packages"
mkdir -p "$work/empty-config"
(cd "$consumer" && run_clean REPOMAN_CONFIG_DIR="$work/empty-config" node consumer.ts) >"$work/lib.out" 2>"$work/lib.err" ||
  die "the README's example failed on an empty config dir: $(cat "$work/lib.err")"
(cd "$work" && run_clean REPOMAN_CONFIG_DIR="$work/empty-config" repoman list) >"$work/cli.out" 2>"$work/cli.err" ||
  die "repoman list failed on an empty config dir: $(cat "$work/cli.err")"
grep -q '^No projects yet' "$work/cli.err" || die "repoman list said: $(cat "$work/cli.out" "$work/cli.err")"
cmp -s "$work/lib.err" "$work/cli.err" && cmp -s "$work/lib.out" "$work/cli.out" ||
  die "the README's example and repoman list differ: '$(cat "$work/lib.out" "$work/lib.err")' vs '$(cat "$work/cli.out" "$work/cli.err")'"
[ -z "$(ls -A "$work/empty-config")" ] || die "the example wrote into the empty config dir: $(ls -A "$work/empty-config")"
roots=$(cd "$consumer" && run_clean node roots.ts)
[ "$roots" = '{"core":true,"node":true,"programs":true,"backup":true,"live":true,"internal":"ERR_PACKAGE_PATH_NOT_EXPORTED"}' ] ||
  die "root entries: $roots"
say "consumer: the README's example type-checks and prints what repoman list prints ($(tr -d '\n' <"$work/cli.err" | cut -c1-40)...); root entries work, internal modules are refused ($(($(date +%s) - t0)) s)"

# 4. Both plugin templates, installed from their tarballs under a config dir.
t0=$(date +%s)
config="$work/config"
mkdir -p "$config/plugins" "$work/repos/alpha/src" "$work/backup"
echo 'int main(void) { return 0; }' >"$work/repos/alpha/src/main.c"
echo 'correct horse battery staple' >"$work/restic-password"
(
  cd "$config/plugins"
  echo '{ "private": true }' >package.json
  # The @repoman packages they depend on come from the tarballs (not on the npm registry yet).
  npm_install $(for p in core node profiles backup; do tgz "repoman-$p"; done) \
    "$(tgz repoman-backup-restic)" "$(tgz acme-repoman-profiles)"
)
cat >"$config/repoman.toml" <<EOF
schema = 3

[defaults]
repos_root = "$work/repos"
backup_root = "$work/backup"

[backup]
target = "repoman-backup-restic"
require_mount = false

[backup.options]
repository = "$work/restic"
password_file = "$work/restic-password"

[plugins]
profiles = ["@acme/repoman-profiles"]

[[project]]
name = "alpha"
repo = "alpha"
image = "images:debian/12"
profiles = ["default"]
created = "2026-04-28T15:00:00Z"
EOF
shown=$(cd "$work/repos/alpha" && run_clean REPOMAN_CONFIG_DIR="$config" repoman profile show acme-node) ||
  die "repoman profile show acme-node failed"
grep -q "NPM_CONFIG_CACHE: $home/.cache/acme-npm" <<<"$shown" || die "the profile plugin's profile: $shown"
(cd "$work/repos/alpha" && run_clean REPOMAN_CONFIG_DIR="$config" repoman sync --json) >"$work/sync.out" 2>"$work/sync.err" ||
  die "repoman sync with the restic plugin failed: $(cat "$work/sync.err")"
grep -q '"event":"SyncCompleted".*"succeeded":1' "$work/sync.out" || die "sync: $(cat "$work/sync.out")"
snapshots=$(restic -r "$work/restic" --password-file "$work/restic-password" snapshots --json --tag project:alpha)
[ "$("$node_bin" -p 'JSON.parse(process.argv[1]).length' "$snapshots")" = 1 ] || die "restic snapshots: $snapshots"
loaded=$(cd "$consumer" && run_clean REPOMAN_CONFIG_DIR="$config" node plugins.ts) || die "RepomanLive with the plugins failed"
[ "$loaded" = "{\"plugin\":[\"acme-llm\",\"acme-node\"],\"location\":\"restic:$work/restic\",\"reachable\":true}" ] ||
  die "RepomanLive with the plugins: $loaded"
say "plugin templates from their tarballs: the installed repoman shows acme-node and syncs alpha into restic; RepomanLive loads both ($(($(date +%s) - t0)) s)"

# 5. The checkout's own command, with no node on PATH.
version=$(env -i PATH=/usr/bin:/bin HOME="$home" "$root/.tools/bin/repoman" --version)
[ "$version" = "$(run_clean repoman --version)" ] || die ".tools/bin/repoman --version: $version"
say ".tools/bin/repoman runs on the checkout's node: $version"
say "done"
