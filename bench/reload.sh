#!/usr/bin/env bash
# Query latency while a large table is rebuilt and swapped.
#
# Starts pldns (pinned to CPU 0) with $RECORDS records, offers $RATE q/s of
# local queries from our load generator (CPU 1) for $DUR seconds, and at
# t = 2, 5 and 8 s rewrites the records file (one changed line), so the
# watcher rebuilds and swaps the whole table. Prints the reload times pldns
# logged, and p99 latency per 100 ms: the intervals with a reload next to
# all the others. Loopback only (a private network namespace).
#
#   bench/reload.sh          RECORDS=100000 RATE=50000 DUR=10 by default
set -euo pipefail
if [ -z "${PLDNS_BENCH_NETNS:-}" ]; then
  exec unshare --net env PLDNS_BENCH_NETNS=1 "$0" "$@"
fi
ip link set lo up
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RECORDS=${RECORDS:-100000}
RATE=${RATE:-50000}
DUR=${DUR:-10}
cd "$ROOT"
cargo build --release -q --bin pldns --example loadgen
W=$(mktemp -d /tmp/pldns-reload.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT

awk -v n="$RECORDS" 'BEGIN{for(i=0;i<n;i++) printf "10.%d.%d.%d acct%07d.privatelink.blob.core.windows.net\n", int(i/65536)%256, int(i/256)%256, i%256, i}' > "$W/records.hosts"
awk -v n="$RECORDS" 'BEGIN{srand(1); for(i=0;i<200000;i++) printf "acct%07d.privatelink.blob.core.windows.net A\n", int(rand()*n)}' > "$W/q.txt"
cat > "$W/pldns.toml" <<EOF2
[server]
listen = ["127.0.0.1:5310"]
allow = ["127.0.0.0/8"]
[[zone]]
name = "privatelink.blob.core.windows.net"
records = ["records.hosts"]
on_miss = "nxdomain"
EOF2
taskset -c 0 target/release/pldns serve -c "$W/pldns.toml" 2>"$W/log" &
PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$W/log" && break; sleep 0.1; done

( for t in 2 5 8; do
    sleep $(( t == 2 ? 2 : 3 ))
    # An edit like an operator's: one line changes, the whole table is rebuilt.
    sed -i "1s/.*/10.255.255.$t acct0000000.privatelink.blob.core.windows.net/" "$W/records.hosts"
  done ) &
EDITS=$!
taskset -c 1 target/release/examples/loadgen --server 127.0.0.1:5310 --queries "$W/q.txt" \
  --rate "$RATE" --duration "$DUR" --interval-ms 100 > "$W/out"
wait $EDITS

echo "reloads logged by pldns:"
grep -o "reload applied in [0-9]* ms.*records" "$W/log" | sed 's/^/  /'
summary=$(grep -v '^interval' "$W/out")
echo "whole run: $summary"
# Intervals from an edit to 500 ms after it hold the rebuild and the swap.
awk '/^interval/ {
  split($2,a,"="); t=a[2]; split($5,b,"="); split($6,c,"=")
  during = (t>=2000 && t<2500) || (t>=5000 && t<5500) || (t>=8000 && t<8500)
  print (during ? "reload" : "quiet"), b[2], c[2]
}' "$W/out" > "$W/intervals"
for kind in quiet reload; do
  grep "^$kind " "$W/intervals" | sort -k2 -n | awk -v kind="$kind" '
    { p99[NR]=$2; if ($3>mx) mx=$3 }
    END { printf "p99 per 100 ms, %s intervals: median %d us, worst %d us (slowest single query %d us), %d intervals\n", kind, p99[int((NR+1)/2)], p99[NR], mx, NR }'
done
