#!/usr/bin/env bash
# Runs fuzz targets one after another on the stable toolchain (libFuzzer
# without sanitizers: `-s none`; `-a`: debug assertions and overflow checks
# on), then minimises each corpus (`cmin` as a greedy set cover of the code
# edges: the smallest set of inputs that reaches every edge the corpus
# reaches, so the committed corpora stay small), and prints one line per target:
# corpus files/bytes before and after, executions, exec/s, seconds, result.
#
#   fuzz/run.sh                       # every target, 600 s each
#   SECONDS_EACH=60 fuzz/run.sh query answer
set -uo pipefail
cd "$(dirname "$0")"
EACH=${SECONDS_EACH:-600}
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(query answer hosts toml json config xfr tsig zonefile)
LOGS=${LOGS:-/tmp/pldns-fuzz-logs}
mkdir -p "$LOGS"
size() { echo "$(find "corpus/$1" -type f | wc -l) files $(cat corpus/"$1"/* | wc -c) bytes"; }
nice cargo fuzz build -s none -a >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
for t in "${TARGETS[@]}"; do
  before=$(size "$t")
  start=$(date +%s)
  # The fuzzed corpus first (new inputs go there), then the real-traffic
  # seeds (read only).
  nice cargo fuzz run -s none -a "$t" "corpus/$t" "seeds/corpus/$t" -- -max_total_time="$EACH" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 >"$LOGS/$t.log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOGS/$t.log")
  result=clean
  [ $rc -ne 0 ] && result="CRASH (see $LOGS/$t.log, fuzz/artifacts/$t/)"
  nice cargo fuzz cmin -s none -a "$t" -- -set_cover_merge=1 -use_counters=0 >"$LOGS/$t.cmin.log" 2>&1
  echo "$t: before $before; after $(size "$t"); ${execs:-?} execs, ${rate:-?} exec/s, ${took}s; $result"
done
