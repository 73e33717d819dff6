#!/usr/bin/env bash
# Rebuilds the seed corpora of fuzz/seeds/corpus/ from real traffic, on loopback
# only, inside a private network namespace (as bench/compare.sh does):
#
#   BIND 9 (127.0.0.1:5390) serves the public side of the names in
#   seeds/zones/ (example.com signed with DNSSEC, the public Private Link
#   CNAME chains), Unbound (127.0.0.1:5391) serves corp.example from
#   local-data; pldns (127.0.0.1:5353) runs the fuzz fixture with its
#   forwarders (127.0.0.1:5301-5305) pointing at relay.py, which passes
#   everything to BIND/Unbound and records each exchange; dig asks pldns
#   through another relay (5400, 5401), which records the client queries.
#   corpus.py turns the recording into seed files (and adds the repository's
#   record, config and zone files). fuzz/run.sh starts every run from them
#   and the fuzzed corpus; `cmin` minimises the fuzzed corpus only.
#
#   fuzz/seeds/make.sh            # writes fuzz/seeds/corpus/*/seed-*
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ -z "${PLDNS_SEEDS_NETNS:-}" ]; then
  (cd "$ROOT" && cargo build -q --bin pldns)
  exec unshare --net env PLDNS_SEEDS_NETNS=1 "$0" "$@"
fi
ip link set lo up
W=$(mktemp -d /tmp/pldns-seeds.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
SECRET=$(sed -n 's/.*secret "\(.*\)";/\1/p' "$ROOT/fuzz/fixture/xfr.key")

# --- BIND: the public side --------------------------------------------------
mkdir -p "$W/bind"
cp "$HERE"/zones/*.zone "$W/bind/"
{
  cat <<CONF
options { directory "$W/bind"; listen-on port 5390 { 127.0.0.1; }; listen-on-v6 { none; };
  pid-file "$W/bind/named.pid"; recursion no; allow-transfer { any; }; notify no;
  dnssec-validation no; ixfr-from-differences yes; };
key "xfr-key" { algorithm hmac-sha256; secret "$SECRET"; };
controls { };
CONF
  for f in "$HERE"/zones/*.zone; do
    z=$(basename "$f" .zone)
    extra=""
    [ "$z" = example.com ] && extra="dnssec-policy default; inline-signing yes;"
    [ "$z" = privatelink.blob.core.windows.net ] && extra="allow-update { key xfr-key; };"
    echo "zone \"$z\" { type primary; file \"$z.zone\"; $extra };"
  done
} > "$W/bind/named.conf"
named -f -c "$W/bind/named.conf" > "$W/named.log" 2>&1 &
PIDS+=($!)

# --- Unbound: corp.example from local-data ----------------------------------
cat > "$W/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@5391
  do-not-query-localhost: no
  use-syslog: no
  chroot: ""
  username: ""
  directory: "$W"
  pidfile: "$W/unbound.pid"
  access-control: 127.0.0.0/8 allow
  local-zone: "corp.example." static
  local-data: "corp.example. 3600 IN SOA ns1.corp.example. hostmaster.corp.example. 7 3600 600 86400 300"
  local-data: "db.corp.example. 300 IN A 10.1.0.40"
  local-data: "db.corp.example. 300 IN AAAA fd00:1::40"
  local-data: "web.corp.example. 300 IN CNAME www.example.com."
remote-control:
  control-enable: no
CONF
unbound -d -c "$W/unbound.conf" > "$W/unbound.log" 2>&1 &
PIDS+=($!)

# --- relays and pldns --------------------------------------------------------
LOG=$W/exchanges.jsonl
python3 "$HERE/relay.py" "$LOG" 5301:5390:up 5302:5390:up 5303:5390:up 5304:5391:up 5305:5391:up \
  5400:5353:client 5401:5353:answer 5402:5390:bindxfr &
PIDS+=($!)
cp -r "$ROOT/fuzz/fixture" "$W/fixture"
sed -i -e 's/^listen = .*/listen = ["127.0.0.1:5353"]\nstate_dir = "state"/' -e 's/^timeout_ms = .*/timeout_ms = 1500/' "$W/fixture/pldns.toml"
start_pldns() {
  "$ROOT/target/debug/pldns" serve --config "$W/fixture/pldns.toml" >> "$W/pldns.log" 2>&1 &
  PLDNS=$!
  PIDS+=("$PLDNS")
  for _ in $(seq 100); do
    if dig +short +tries=1 +time=1 -p 5353 @127.0.0.1 acct.privatelink.blob.core.windows.net A | grep -q 10.20; then
      return
    fi
    sleep 0.2
  done
  echo "pldns did not start: $(cat "$W/pldns.log")" >&2
  exit 1
}
for _ in $(seq 100); do
  dig +short +tries=1 +time=1 -p 5390 @127.0.0.1 +dnssec example.com SOA 2>/dev/null | grep -q RRSIG && break
  sleep 0.2
done
start_pldns

# --- client queries, through the recording relay ----------------------------
ask() { dig +tries=1 +time=3 -p "$1" @127.0.0.1 "${@:2}" > /dev/null 2>&1 || true; }
while read -r line; do
  [ -z "$line" ] && continue
  # shellcheck disable=SC2086
  ask 5400 $line
done < "$HERE/queries.txt"
ask 5400 -y "hmac-sha256:xfr-key:$SECRET" axfr privatelink.blob.core.windows.net
ask 5400 -y "hmac-sha256:xfr-key:$SECRET" ixfr=1 privatelink.blob.core.windows.net
ask 5400 -y "hmac-sha256:xfr-key:$SECRET" www.example.com A
ask 5400 -y "hmac-sha512:xfr-key:$SECRET" www.example.com A
# The answer target's questions, in its order (fuzz/harness/answer.rs), to
# a fresh pldns (nothing cached: each one goes upstream).
kill "$PLDNS" && wait "$PLDNS" 2>/dev/null || true
start_pldns
while read -r line; do
  [ -z "$line" ] && continue
  # shellcheck disable=SC2086
  ask 5401 +ignore $line
done < "$HERE/answer-questions.txt"

# --- transfers from BIND: AXFR, a change, IXFR (signed and not) -------------
ask 5402 +tcp axfr privatelink.blob.core.windows.net
printf 'server 127.0.0.1 5390\nzone privatelink.blob.core.windows.net\nupdate add new1.privatelink.blob.core.windows.net 60 A 20.150.1.3\nupdate delete txt.privatelink.blob.core.windows.net TXT\nsend\n' \
  | nsupdate -y "hmac-sha256:xfr-key:$SECRET"
ask 5402 ixfr=1 privatelink.blob.core.windows.net
ask 5402 -y "hmac-sha256:xfr-key:$SECRET" axfr privatelink.blob.core.windows.net
ask 5402 -y "hmac-sha256:xfr-key:$SECRET" ixfr=1 privatelink.blob.core.windows.net
sleep 1.5

named-compilezone -q -s full -o "$W/blob.full" privatelink.blob.core.windows.net "$W/bind/privatelink.blob.core.windows.net.zone" || true
mkdir -p "$W/export"
"$ROOT/target/debug/pldns" export --config "$W/fixture/pldns.toml" --format zone --dir "$W/export" > /dev/null 2>&1 || true
python3 "$HERE/corpus.py" "$LOG" "$ROOT" "$W"
