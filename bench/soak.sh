#!/usr/bin/env bash
# Soak: every kind of client at once, for a bounded time, against pldns and
# then against Unbound with the same clients, in a private network namespace
# that has only a loopback interface (as bench/compare.sh: nothing can leave
# this machine). Building (cargo) and installing Unbound (apt) happen first,
# outside it.
#
# Well-behaved classes, each from its own address, at $RATE q/s:
#   local      names in the table (privatelink A)          must be private IPs
#   cached     20 forwarded names asked over and over      must be answered
#   forwarded  a new forwarded name every time             must be answered
#   spliced    <acct>.cdn.example.net: upstream's chain enters the table,
#              finished from it                            must be private IPs
#   flaky      names of a zone forwarded ONLY to the flapping upstream:
#              SERVFAIL is the honest answer while it is down, silence is not
#   tcp        one TCP connection per query ($TCP_RATE q/s, local + forwarded)
# Abusive clients, running alongside:
#   flood      one address sending one local name at $FLOOD_RATE q/s (UDP;
#              FLOOD_RATE=0: as fast as one core can, which overruns any
#              server's socket buffer on loopback, whatever it does)
#   tcp-hog    one TCP connection pipelining forwarded queries, never reading
#   tcp-idle   $IDLE connections that send nothing
# Meanwhile the upstream 127.0.0.1:5399 flaps (answering, silent, SERVFAIL,
# $PHASE s each; a steady second upstream, 5398, backs it for [upstream]),
# and (pldns only) a records file is rewritten every second, one rewrite in
# seven broken on purpose. Unbound gets the same clients and upstreams; it
# is not reloaded (its reload is unbound-control, a different operation).
#
# Reported per server: sent/ok/wrong/servfail/other/truncated/lost and
# p50/p99 per class, the abusers' counts, and the server's RSS at the start,
# the end and its peak (sampled every second).
#
#   bench/soak.sh                          # pldns then unbound, 180 s each
#   DURATION=60 SERVERS=pldns bench/soak.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=${SERVERS:-"pldns unbound"}
if [ -z "${PLDNS_SOAK_NETNS:-}" ]; then
  if [[ " $SERVERS " == *" unbound "* ]] && ! command -v unbound >/dev/null 2>&1; then
    echo "installing unbound (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq unbound bind9-dnsutils >/dev/null
  fi
  (cd "$ROOT" && cargo build --release -q --bin pldns --example upstream --example soak_client)
  exec unshare --net env PLDNS_SOAK_NETNS=1 "$0" "$@"
fi
ip link set lo up

DURATION=${DURATION:-180}
PHASE=${PHASE:-20}
RATE=${RATE:-50}
TCP_RATE=${TCP_RATE:-10}
IDLE=${IDLE:-1100}
FLOOD_RATE=${FLOOD_RATE:-20000}
PORT=5300
BIN=$ROOT/target/release
CLIENT=$BIN/examples/soak_client
W=$(mktemp -d /tmp/pldns-soak.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
ZONE=privatelink.blob.core.windows.net

# --- data ---------------------------------------------------------------
mkdir -p "$W/records"
awk 'BEGIN{for(i=0;i<100;i++) printf "10.0.%d.%d acct%02d.'$ZONE'\n", int(i/256), i%256, i}' > "$W/records/table.hosts"
awk 'BEGIN{for(i=0;i<100;i++) printf "acct%02d.'$ZONE' A\n", i}' > "$W/q-local"
awk 'BEGIN{for(i=0;i<20;i++) printf "host%d.example.com A\n", i}' > "$W/q-cached"
awk -v n="$((RATE * DURATION + 100))" 'BEGIN{for(i=0;i<n;i++) printf "host%d.example.com A\n", 100000+i}' > "$W/q-forwarded"
awk 'BEGIN{for(i=0;i<100;i++) printf "acct%02d.cdn.example.net A\n", i}' > "$W/q-spliced"
awk -v n="$((RATE * DURATION + 100))" 'BEGIN{for(i=0;i<n;i++) printf "host%d.flaky.example.com A\n", i}' > "$W/q-flaky"
paste -d'\n' "$W/q-local" <(head -100 "$W/q-forwarded" | sed 's/host1/host2/') > "$W/q-tcp"

# Rewrites churn.hosts every second (write, then rename: never half a
# file), every seventh time with a line that does not parse.
rewriter() {
  local i=0
  while :; do
    i=$((i + 1))
    {
      for j in $(seq 0 19); do echo "10.9.$((i % 250)).$j churn$j.$ZONE"; done
      [ $((i % 7)) -eq 0 ] && echo "10.9.999.1 broken.$ZONE"
    } > "$W/records/.churn.tmp"
    mv "$W/records/.churn.tmp" "$W/records/churn.hosts"
    sleep 1
  done
}

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

start_server() {
  case $1 in
  pldns)
    cat > "$W/pldns.toml" <<EOF
[server]
listen = ["127.0.0.1:$PORT"]
allow = ["127.0.0.0/8"]
metrics = "127.0.0.1:9300"
state_dir = "$W/state"
[upstream]
servers = ["127.0.0.1:5399", "127.0.0.1:5398"]
timeout_ms = 400
[cache]
size = 10000
[rrl]
# Above every well-behaved class's rate (as Unbound's ip-ratelimit below):
# only the flood is limited.
responses_per_second = $((RATE * 2))
window = 5
slip = 2
[[zone]]
name = "$ZONE"
records = ["records/"]
on_miss = "nxdomain"
[[zone]]
name = "flaky.example.com"
forwarders = ["127.0.0.1:5399"]
EOF
    taskset -c 0 "$BIN/pldns" serve -c "$W/pldns.toml" 2>"$W/pldns.log" &
    ;;
  unbound)
    awk '{printf "  local-data: \"%s. 300 IN A %s\"\n", $2, $1}' "$W/records/table.hosts" > "$W/unbound-local.conf"
    cat > "$W/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@$PORT
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$W"
  pidfile: ""
  use-syslog: no
  verbosity: 0
  num-threads: 2
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  outgoing-interface: 127.0.0.1
  # Its closest equivalents of pldns's protections: per-address query rate
  # (above the well-behaved classes' rate), serve-expired (RFC 8767).
  ip-ratelimit: $((RATE * 2))
  ip-ratelimit-factor: 2
  serve-expired: yes
  local-zone: "$ZONE." static
  include: "$W/unbound-local.conf"
forward-zone:
  name: "flaky.example.com."
  forward-addr: 127.0.0.1@5399
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@5399
  forward-addr: 127.0.0.1@5398
remote-control:
  control-enable: no
EOF
    taskset -c 0 unbound -d -c "$W/unbound.conf" 2>"$W/unbound.log" &
    ;;
  esac
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 100); do
    if dig +time=1 +tries=1 @127.0.0.1 -p "$PORT" "acct01.$ZONE" A 2>/dev/null | grep -q 10.0.0.1; then return 0; fi
    sleep 0.1
  done
  echo "$1 did not start" >&2
  return 1
}

metrics() {
  exec 3<>/dev/tcp/127.0.0.1/9300 || return 0
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  grep -E '^pldns_(reloads_total|forwards_rejected_total|queries_dropped_total|upstream_(up|failures_total)|rrl|panic|tcp)' <&3 || true
  exec 3<&-
}

run() {
  local s=$1 server="127.0.0.1:$PORT" out=$W/out-$1
  mkdir -p "$out"
  taskset -c 1 "$BIN/examples/upstream" 127.0.0.1:5399 --flap "$PHASE" --ttl 30 2>"$out/flap.log" &
  local up1=$!
  taskset -c 1 "$BIN/examples/upstream" 127.0.0.1:5398 --ttl 30 2>/dev/null &
  local up2=$!
  PIDS+=("$up1" "$up2")
  start_server "$s"
  local pid=$SERVER_PID rw=""
  if [ "$s" = pldns ]; then rewriter & rw=$!; PIDS+=("$rw"); fi
  local rss0 peak=0
  rss0=$(rss_kb "$pid")
  ( while kill -0 "$pid" 2>/dev/null; do rss_kb "$pid"; sleep 1; done ) > "$out/rss" &
  local sampler=$!
  c() { taskset -c 1 "$CLIENT" "$@" --server "$server" --duration "$DURATION"; }
  local cl=()
  c udp --class local --bind 127.0.1.1 --queries "$W/q-local" --rate "$RATE" --expect private > "$out/local" & cl+=($!)
  c udp --class cached --bind 127.0.1.2 --queries "$W/q-cached" --rate "$RATE" --expect answer > "$out/cached" & cl+=($!)
  c udp --class forwarded --bind 127.0.1.3 --queries "$W/q-forwarded" --rate "$RATE" --expect answer > "$out/forwarded" & cl+=($!)
  c udp --class spliced --bind 127.0.1.4 --queries "$W/q-spliced" --rate "$RATE" --expect private > "$out/spliced" & cl+=($!)
  c udp --class flaky --bind 127.0.1.5 --queries "$W/q-flaky" --rate "$RATE" --expect answer > "$out/flaky" & cl+=($!)
  c tcp --class tcp --bind 127.0.1.6 --queries "$W/q-tcp" --rate "$TCP_RATE" --expect answer > "$out/tcp" & cl+=($!)
  c flood --class flood --bind 127.0.2.1 --name "acct01.$ZONE" --rate "$FLOOD_RATE" > "$out/flood" & cl+=($!)
  c tcp-hog --class tcp-hog --bind 127.0.3.1 > "$out/tcp-hog" & cl+=($!)
  c tcp-idle --class tcp-idle --bind 127.0.4.1 --count "$IDLE" > "$out/tcp-idle" & cl+=($!)
  for p in "${cl[@]}"; do wait "$p" || true; done
  local rss1
  rss1=$(rss_kb "$pid")
  [ "$s" = pldns ] && metrics > "$out/metrics"
  [ -n "$rw" ] && kill "$rw" 2>/dev/null
  kill "$sampler" "$pid" "$up1" "$up2" 2>/dev/null || true
  wait "$pid" "$up1" "$up2" 2>/dev/null || true
  peak=$(sort -n "$out/rss" | tail -1)
  echo "rss $rss0 $rss1 ${peak:-0}" > "$out/rss-summary"
}

for s in $SERVERS; do
  echo "== $s: ${DURATION}s" >&2
  run "$s"
done

# --- report -------------------------------------------------------------
echo
echo "soak: ${DURATION}s, well-behaved classes at ${RATE} q/s each (tcp ${TCP_RATE} q/s), flood ${FLOOD_RATE} q/s, $IDLE idle TCP connections, upstream 5399 flapping every ${PHASE}s"
for s in $SERVERS; do
  out=$W/out-$s
  echo
  echo "$s"
  printf "  %-10s %7s %7s %6s %8s %6s %6s %6s %8s %8s\n" class sent ok wrong servfail other tc lost p50_ms p99_ms
  for k in local cached forwarded spliced flaky tcp; do
    line=$(cat "$out/$k")
    v() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$line"; }
    printf "  %-10s %7s %7s %6s %8s %6s %6s %6s %8s %8s\n" "$k" "$(v sent)" "$(v ok)" "$(v wrong)" "$(v servfail)" \
      "$(v other)" "$(v truncated)" "$(v lost)" "$(v p50_ms)" "$(v p99_ms)"
    others=$(v other_rcodes)
    if [ -n "$others" ]; then echo "             other rcodes: $others"; fi
  done
  for k in flood tcp-hog tcp-idle; do echo "  $(cat "$out/$k")"; done
  read -r _ r0 r1 rp < "$out/rss-summary"
  echo "  RSS: start $((r0 / 1024)) MiB, end $((r1 / 1024)) MiB, peak $((rp / 1024)) MiB"
  if [ -s "$out/metrics" ]; then sed 's/^/  metric /' "$out/metrics"; fi
done
