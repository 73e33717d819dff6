#!/usr/bin/env bash
# pldns side by side with Unbound, BIND 9, PowerDNS Recursor and dnsmasq,
# in one run, on the same data:
#
#   a Private Link zone of $NAMES names served locally; everything else
#   forwarded to a fake upstream on loopback (bench/upstream.rs) that answers
#   like public DNS (storage accounts: CNAME chain to a PUBLIC address).
#
# Workloads:  W1 local answers, W2 cached forwarded answers, W3 public names
#             (acct.blob.core.windows.net) that must end at the PRIVATE IP.
# Per server and workload: at each fixed offered load in $RATES, the server's
# CPU us/query (from /proc/PID/task/*/schedstat), p50/p99 latency and lost
# queries, measured together in the same run; then the saturation q/s; and
# whether the W3 answer carries the private IP.
#
# Servers are pinned to CPU 0, the load generator to CPU 1. The measuring
# runs in a private network namespace that has only a loopback interface, so
# no packet can leave this machine, whatever a server tries. Installing the
# peers (apt) and building (cargo) happen first, outside it: both need the
# network.
#
#   bench/compare.sh                     # all servers, RATES="5000 20000 50000 100000"
#   SERVERS="pldns unbound" RATES="20000" DUR=3 bench/compare.sh
#   PLDNS_SERVER_EXTRA='max_batch_delay_us = 400' bench/compare.sh   # extra [server] lines
#   SERVERS=pldns SERVER_CPUS=0,1 LOADGEN_CPUS=0,1 SOCKETS=16 \
#     PLDNS_SERVER_EXTRA='udp_workers = 2' bench/compare.sh         # two workers
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=${SERVERS:-"pldns unbound bind pdns dnsmasq"}

if [ -z "${PLDNS_BENCH_NETNS:-}" ]; then
  need() { command -v "$1" >/dev/null 2>&1; }
  missing=""
  for s in $SERVERS; do
    case $s in
    unbound) need unbound || missing="$missing unbound" ;;
    bind) need named || missing="$missing bind9" ;;
    pdns) need pdns_recursor || missing="$missing pdns-recursor" ;;
    dnsmasq) need dnsmasq || missing="$missing dnsmasq-base" ;;
    esac
  done
  need dig || missing="$missing bind9-dnsutils"
  if [ -n "$missing" ]; then
    echo "installing the peers (apt):$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
  fi
  (cd "$ROOT" && cargo build --release -q --bin pldns --example loadgen --example upstream)
  exec unshare --net env PLDNS_BENCH_NETNS=1 "$0" "$@"
fi
ip link set lo up

NAMES=${NAMES:-10000}
RATES=${RATES:-"5000 20000 50000 100000"}
DUR=${DUR:-4}
OUTSTANDING=${OUTSTANDING:-200}
# Where the server and the load generator run, and how many client sockets
# (SO_REUSEPORT spreads clients over a server's sockets by address and port).
SERVER_CPUS=${SERVER_CPUS:-0}
LOADGEN_CPUS=${LOADGEN_CPUS:-1}
SOCKETS=${SOCKETS:-4}
UPSTREAM_PORT=5399

cd "$ROOT"
BIN=$ROOT/target/release
for b in "$BIN/pldns" "$BIN/examples/loadgen" "$BIN/examples/upstream"; do
  [ -x "$b" ] || { echo "missing $b (the build runs before the namespace is entered)" >&2; exit 1; }
done
LOADGEN=$BIN/examples/loadgen
W=$(mktemp -d /tmp/pldns-compare.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

ZONE=privatelink.blob.core.windows.net
# --- data ---------------------------------------------------------------
awk -v n="$NAMES" 'BEGIN{for(i=0;i<n;i++) printf "10.%d.%d.%d acct%05d.privatelink.blob.core.windows.net\n", int(i/65536)%256, int(i/256)%256, i%256, i}' > "$W/records.hosts"
awk -v n="$NAMES" 'BEGIN{srand(1); for(i=0;i<200000;i++) printf "acct%05d.privatelink.blob.core.windows.net A\n", int(rand()*n)}' > "$W/w1.txt"
awk 'BEGIN{srand(2); for(i=0;i<200000;i++) printf "host%d.example.com A\n", int(rand()*1000)}' > "$W/w2.txt"
awk -v n="$NAMES" 'BEGIN{srand(3); for(i=0;i<200000;i++) printf "acct%05d.blob.core.windows.net A\n", int(rand()*n)}' > "$W/w3.txt"
# warm-up files: every name once
awk '{print $2" "$1}' "$W/records.hosts" | awk '{print $1" A"}' > "$W/w1.warm"
awk 'BEGIN{for(i=0;i<1000;i++) printf "host%d.example.com A\n", i}' > "$W/w2.warm"
awk -v n="$NAMES" 'BEGIN{for(i=0;i<n;i++) printf "acct%05d.blob.core.windows.net A\n", i}' > "$W/w3.warm"
{
  echo "\$TTL 300"
  echo "@ IN SOA localhost. nobody.invalid. 1 3600 600 86400 300"
  echo "@ IN NS localhost."
  awk '{sub(".privatelink.blob.core.windows.net","",$2); print $2" IN A "$1}' "$W/records.hosts"
} > "$W/zone.db"

taskset -c 1 "$BIN/examples/upstream" "127.0.0.1:$UPSTREAM_PORT" 2>/dev/null &
PIDS+=($!)

# --- servers ------------------------------------------------------------
port_of() { case $1 in pldns) echo 5301;; unbound) echo 5302;; bind) echo 5303;; pdns) echo 5304;; dnsmasq) echo 5305;; esac; }

start_server() {
  local s=$1 port
  port=$(port_of "$s")
  case $s in
  pldns)
    cat > "$W/pldns.toml" <<EOF
[server]
listen = ["127.0.0.1:$port"]
${PLDNS_SERVER_EXTRA:-}
allow = ["127.0.0.0/8"]
[upstream]
servers = ["127.0.0.1:$UPSTREAM_PORT"]
[cache]
size = 100000
[[zone]]
name = "$ZONE"
records = ["records.hosts"]
forwarders = ["127.0.0.1:$UPSTREAM_PORT"]
EOF
    taskset -c "$SERVER_CPUS" "$BIN/pldns" serve -c "$W/pldns.toml" 2>"$W/pldns.log" &
    ;;
  unbound)
    awk '{printf "local-data: \"%s. 300 IN A %s\"\n", $2, $1}' "$W/records.hosts" > "$W/unbound-local.conf"
    cat > "$W/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@$port
  port: $port
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$W"
  pidfile: ""
  use-syslog: no
  verbosity: 0
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  outgoing-interface: 127.0.0.1
  msg-cache-size: 64m
  rrset-cache-size: 128m
  local-zone: "$ZONE." static
  include: "$W/unbound-local.conf"
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$UPSTREAM_PORT
remote-control:
  control-enable: no
EOF
    taskset -c "$SERVER_CPUS" unbound -d -c "$W/unbound.conf" 2>"$W/unbound.log" &
    ;;
  bind)
    cat > "$W/named.conf" <<EOF
options {
  directory "$W";
  pid-file "$W/named.pid";
  listen-on port $port { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-query { 127.0.0.0/8; };
  allow-recursion { 127.0.0.0/8; };
  forwarders { 127.0.0.1 port $UPSTREAM_PORT; };
  forward only;
  dnssec-validation no;
  query-source address 127.0.0.1;
  notify no;
  max-cache-size 256m;
};
zone "$ZONE" { type primary; file "$W/zone.db"; };
EOF
    taskset -c "$SERVER_CPUS" named -g -n 1 -c "$W/named.conf" >"$W/named.log" 2>&1 &
    ;;
  pdns)
    mkdir -p "$W/pdns"
    # Root hints that point nowhere but loopback: no priming query can leave.
    printf ".\t3600000\tIN\tNS\tlocalroot.\nlocalroot.\t3600000\tIN\tA\t127.0.0.1\n" > "$W/pdns/root.hints"
    cat > "$W/pdns/recursor.conf" <<EOF
local-address=127.0.0.1
local-port=$port
allow-from=127.0.0.0/8
auth-zones=$ZONE=$W/zone.db
forward-zones-recurse=.=127.0.0.1:$UPSTREAM_PORT
query-local-address=127.0.0.1
hint-file=$W/pdns/root.hints
threads=1
pdns-distributes-queries=no
dnssec=off
socket-dir=$W/pdns
daemon=no
write-pid=no
disable-syslog=yes
quiet=yes
max-cache-entries=1000000
EOF
    taskset -c "$SERVER_CPUS" pdns_recursor --config-dir="$W/pdns" >"$W/pdns.log" 2>&1 &
    ;;
  dnsmasq)
    taskset -c "$SERVER_CPUS" dnsmasq -k --conf-file=/dev/null -p "$port" --listen-address=127.0.0.1 --bind-interfaces \
      --no-resolv --no-hosts --addn-hosts="$W/records.hosts" --server="127.0.0.1#$UPSTREAM_PORT" \
      --cache-size=10000 --dns-forward-max=5000 --user=root --pid-file= >"$W/dnsmasq.log" 2>&1 &
    ;;
  esac
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 100); do
    if dig +time=1 +tries=1 @127.0.0.1 -p "$port" "acct00001.$ZONE" A >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$s did not start" >&2
  return 1
}

cpu_ns() {
  local t=0 f
  for f in /proc/"$1"/task/*/schedstat; do t=$((t + $(cut -d' ' -f1 "$f" 2>/dev/null || echo 0))); done
  echo "$t"
}

field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

load() { # port file rate duration
  taskset -c "$LOADGEN_CPUS" "$LOADGEN" --server "127.0.0.1:$1" --queries "$2" --rate "$3" --duration "$4" \
    --outstanding "$OUTSTANDING" --sockets "$SOCKETS"
}

# --- measure ------------------------------------------------------------
# results.txt rows:  load WL SERVER RATE CPU_US P50 P99 LOST RECEIVED
#                    peak WL SERVER QPS LOST
#                    w3ip SERVER ANSWER
RESULTS="$W/results.txt"
: > "$RESULTS"
for s in $SERVERS; do
  port=$(port_of "$s")
  echo "== $s" >&2
  start_server "$s"
  pid=$SERVER_PID
  for wl in w1 w2 w3; do
    load "$port" "$W/$wl.warm" 20000 "$(awk -v n="$(wc -l <"$W/$wl.warm")" 'BEGIN{print n/20000+0.5}')" >/dev/null
    for rate in $RATES; do
      a=$(cpu_ns "$pid"); out=$(load "$port" "$W/$wl.txt" "$rate" "$DUR"); b=$(cpu_ns "$pid")
      n=$(field received "$out")
      cpu=$(awk -v d=$((b - a)) -v n="$n" 'BEGIN{printf "%.2f", (n>0)? d/1000/n : 0}')
      echo "load $wl $s $rate $cpu $(field p50_us "$out") $(field p99_us "$out") $(field lost "$out") $n" >> "$RESULTS"
      echo "   $wl @$rate q/s: cpu_us=$cpu p50/p99=$(field p50_us "$out")/$(field p99_us "$out")us lost=$(field lost "$out")" >&2
    done
    peak=$(load "$port" "$W/$wl.txt" 0 "$DUR")
    echo "peak $wl $s $(field qps "$peak") $(field lost "$peak")" >> "$RESULTS"
    echo "   $wl peak=$(field qps "$peak") q/s lost=$(field lost "$peak")" >&2
    if [ "$wl" = w3 ]; then
      ip=$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$port" acct00042.blob.core.windows.net A | tail -1)
      case $ip in 10.*) ip="private:$ip" ;; "") ip="none" ;; *) ip="PUBLIC:$ip" ;; esac
      echo "w3ip $s $ip" >> "$RESULTS"
    fi
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

# --- report -------------------------------------------------------------
echo
echo "pldns vs peers: server on CPU $SERVER_CPUS, loadgen on CPU $LOADGEN_CPUS ($SOCKETS sockets), $NAMES local names, ${DUR}s per run"
echo "ratios are pldns/peer at the same offered load: below 1 means pldns spends less CPU or answers sooner"
for wl in w1 w2 w3; do
  case $wl in w1) title="W1 local answers" ;; w2) title="W2 cached forwarded answers" ;; w3) title="W3 public names -> private IP" ;; esac
  echo
  echo "$title"
  printf "  %8s  %-8s %9s %6s %8s %6s %8s %6s %7s\n" offered server "cpu us/q" ratio "p50 us" ratio "p99 us" ratio lost
  awk -v wl="$wl" '
    function r(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "-" }
    $1 == "load" && $2 == wl {
      k = $4 SUBSEP $3; cpu[k] = $5; p50[k] = $6; p99[k] = $7; lost[k] = $8
      if (!($4 in seenr)) { seenr[$4] = 1; rates[++nr] = $4 }
      if (!($3 in seens)) { seens[$3] = 1; srv[++ns] = $3 }
    }
    END {
      for (i = 1; i <= nr; i++) for (j = 1; j <= ns; j++) {
        s = srv[j]; k = rates[i] SUBSEP s; p = rates[i] SUBSEP "pldns"
        peer = (s != "pldns") && (p in cpu)
        printf "  %8s  %-8s %9s %6s %8s %6s %8s %6s %7s\n", (j == 1) ? rates[i] : "", s,
          cpu[k], peer ? r(cpu[p], cpu[k]) : "", p50[k], peer ? r(p50[p], p50[k]) : "",
          p99[k], peer ? r(p99[p], p99[k]) : "", lost[k]
      }
    }' "$RESULTS"
  awk -v wl="$wl" '
    $1 == "peak" && $2 == wl { q[$3] = $4; l[$3] = $5; o[++n] = $3 }
    END {
      line = "  peak q/s:"
      for (i = 1; i <= n; i++) {
        s = o[i]; line = line sprintf("  %s %s", s, q[s])
        if (s != "pldns" && ("pldns" in q) && q[s] > 0) line = line sprintf(" (pldns x%.2f)", q["pldns"] / q[s])
        if (l[s] > 0) line = line sprintf(" [lost %s]", l[s])
      }
      print line
    }' "$RESULTS"
  if [ "$wl" = w3 ]; then
    awk '$1 == "w3ip" { line = line sprintf("  %s %s", $2, $3) } END { print "  W3 answer:" line }' "$RESULTS"
  fi
done
