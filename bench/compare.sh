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
# Per server and workload: (a) server CPU us/query at a fixed offered load
# ($RATE q/s, from /proc/PID/task/*/schedstat), (b) saturation q/s with our
# load generator, (c) p50/p99 latency at 80% of that server's peak, (d) lost
# queries; and whether the W3 answer carries the private IP.
#
# Servers are pinned to CPU 0, the load generator to CPU 1. Everything runs
# in a private network namespace that has only a loopback interface, so no
# packet can leave this machine, whatever a server tries.
#
#   bench/compare.sh                    # all servers
#   SERVERS="pldns unbound" RATE=30000 DUR=3 bench/compare.sh
set -euo pipefail

if [ -z "${PLDNS_BENCH_NETNS:-}" ]; then
  exec unshare --net env PLDNS_BENCH_NETNS=1 "$0" "$@"
fi
ip link set lo up

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAMES=${NAMES:-10000}
RATE=${RATE:-50000}
DUR=${DUR:-4}
OUTSTANDING=${OUTSTANDING:-200}
SERVERS=${SERVERS:-"pldns unbound bind pdns dnsmasq"}
UPSTREAM_PORT=5399

need() { command -v "$1" >/dev/null 2>&1; }
if ! need unbound || ! need named || ! need pdns_recursor || ! need dnsmasq || ! need dig; then
  echo "installing the peers (apt)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq unbound bind9 bind9-dnsutils pdns-recursor dnsmasq-base >/dev/null
fi

cd "$ROOT"
cargo build --release -q --bin pldns --example loadgen --example upstream
BIN=$ROOT/target/release
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
    taskset -c 0 "$BIN/pldns" serve -c "$W/pldns.toml" 2>"$W/pldns.log" &
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
    taskset -c 0 unbound -d -c "$W/unbound.conf" 2>"$W/unbound.log" &
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
    taskset -c 0 named -g -n 1 -c "$W/named.conf" >"$W/named.log" 2>&1 &
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
    taskset -c 0 pdns_recursor --config-dir="$W/pdns" >"$W/pdns.log" 2>&1 &
    ;;
  dnsmasq)
    taskset -c 0 dnsmasq -k --conf-file=/dev/null -p "$port" --listen-address=127.0.0.1 --bind-interfaces \
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
  taskset -c 1 "$LOADGEN" --server "127.0.0.1:$1" --queries "$2" --rate "$3" --duration "$4" --outstanding "$OUTSTANDING"
}

# --- measure ------------------------------------------------------------
RESULTS="$W/results.txt"
: > "$RESULTS"
for s in $SERVERS; do
  port=$(port_of "$s")
  echo "== $s" >&2
  start_server "$s"
  pid=$SERVER_PID
  for wl in w1 w2 w3; do
    load "$port" "$W/$wl.warm" 20000 "$(awk -v n="$(wc -l <"$W/$wl.warm")" 'BEGIN{print n/20000+0.5}')" >/dev/null
    a=$(cpu_ns "$pid"); fixed=$(load "$port" "$W/$wl.txt" "$RATE" "$DUR"); b=$(cpu_ns "$pid")
    n=$(field received "$fixed")
    cpu=$(awk -v d=$((b - a)) -v n="$n" 'BEGIN{printf "%.2f", (n>0)? d/1000/n : 0}')
    peak=$(load "$port" "$W/$wl.txt" 0 "$DUR")
    pq=$(field qps "$peak")
    at80=$(load "$port" "$W/$wl.txt" "$(awk -v q="$pq" 'BEGIN{printf "%d", q*0.8}')" "$DUR")
    lost=$(( $(field lost "$fixed") + $(field lost "$peak") + $(field lost "$at80") ))
    ip="-"
    if [ "$wl" = w3 ]; then
      ip=$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$port" acct00042.blob.core.windows.net A | tail -1)
      case $ip in 10.*) ip="private:$ip";; "") ip="none";; *) ip="PUBLIC:$ip";; esac
    fi
    echo "$wl $s $cpu $pq $(field p50_us "$at80") $(field p99_us "$at80") $lost $(field lost "$fixed") $ip" >> "$RESULTS"
    echo "   $wl cpu_us=$cpu peak=$pq p50/p99@80%=$(field p50_us "$at80")/$(field p99_us "$at80")us lost=$lost $ip" >&2
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

# --- report -------------------------------------------------------------
echo
echo "pldns vs peers: server on CPU 0, loadgen on CPU 1, $NAMES local names, fixed load $RATE q/s, ${DUR}s per run"
echo "ratios are pldns/peer: below 1 means pldns spends less CPU; above 1 means pldns answers more q/s"
for wl in w1 w2 w3; do
  case $wl in w1) title="W1 local answers";; w2) title="W2 cached forwarded answers";; w3) title="W3 public names -> private IP";; esac
  echo
  echo "$title"
  printf "  %-8s %10s %8s %10s %8s %8s %8s %6s  %s\n" server "cpu us/q" "ratio" "peak q/s" "ratio" "p50 us" "p99 us" lost "W3 answer"
  awk -v wl="$wl" '
    $1==wl {srv[$2]=1; cpu[$2]=$3; pk[$2]=$4; p50[$2]=$5; p99[$2]=$6; lost[$2]=$7; ip[$2]=$9; order[++k]=$2}
    END {
      for (i=1;i<=k;i++) { s=order[i]
        rc = (s!="pldns" && cpu[s]>0 && ("pldns" in srv)) ? sprintf("%.2f", cpu["pldns"]/cpu[s]) : "-"
        rq = (s!="pldns" && pk[s]>0 && ("pldns" in srv)) ? sprintf("%.2f", pk["pldns"]/pk[s]) : "-"
        printf "  %-8s %10s %8s %10s %8s %8s %8s %6s  %s\n", s, cpu[s], rc, pk[s], rq, p50[s], p99[s], lost[s], (wl=="w3")? ip[s] : ""
      }
    }' "$RESULTS"
done
