#!/usr/bin/env bash
# HTTPS listener (issue 19): incusd also listens on 127.0.0.1:8443, so that
# the tests can drive repoman over HTTPS, as against a remote server, with
# no unix socket in reach. Idempotent; says what it did. Run as root after
# scripts/incus/start.sh.
#
# What it does:
# - `incus config set core.https_address 127.0.0.1:8443` unless incusd
#   listens there already (only the loopback address: nothing outside this
#   machine can reach it, and trust still needs a certificate the tests add
#   with a token and remove when they end);
# - waits until the port accepts connections;
# - writes $REPOMAN_CI_STATE/env.d/https.env: the address and the server
#   certificate's path (tests pin a copy, or another cert to play a swapped one).
set -euo pipefail
SCRIPT_NAME=https
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../incus/lib.sh"
require_root

: "${REPOMAN_CI_HTTPS_ADDRESS:=127.0.0.1:8443}"
t0=$(now_ms)

current=$(incus config get core.https_address)
if [ "$current" = "$REPOMAN_CI_HTTPS_ADDRESS" ]; then
  say "incusd listens on $REPOMAN_CI_HTTPS_ADDRESS already"
else
  [ -z "$current" ] || say "core.https_address was '$current'"
  incus config set core.https_address "$REPOMAN_CI_HTTPS_ADDRESS"
  say "set core.https_address=$REPOMAN_CI_HTTPS_ADDRESS"
fi

# The server certificate incusd presents there (the one `incus remote add` pins).
server_crt=${INCUS_DIR:-/var/lib/incus}/server.crt
[ -s "$server_crt" ] || die "no server certificate at $server_crt"
mkdir -p "$REPOMAN_CI_STATE"
cp "$server_crt" "$REPOMAN_CI_STATE/https-server.crt"
chmod 0644 "$REPOMAN_CI_STATE/https-server.crt"

host=${REPOMAN_CI_HTTPS_ADDRESS%:*}
port=${REPOMAN_CI_HTTPS_ADDRESS##*:}
listening=no
for _ in $(seq 1 50); do
  if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then listening=yes; break; fi
  sleep 0.2
done
[ "$listening" = yes ] || die "nothing listens on $REPOMAN_CI_HTTPS_ADDRESS"
say "incusd answers on https://$REPOMAN_CI_HTTPS_ADDRESS (to the certificates in its trust store only)"

mkdir -p "$REPOMAN_CI_STATE/env.d"
cat >"$REPOMAN_CI_STATE/env.d/https.env" <<EOT
# Written by scripts/ci/https.sh: incusd's HTTPS listener.
REPOMAN_CI_HTTPS_ADDRESS=$REPOMAN_CI_HTTPS_ADDRESS
REPOMAN_CI_HTTPS_SERVER_CERT=$REPOMAN_CI_STATE/https-server.crt
EOT
chmod 0644 "$REPOMAN_CI_STATE/env.d/https.env"
say "wrote $REPOMAN_CI_STATE/env.d/https.env; took $(elapsed "$t0")"
