#!/usr/bin/env bash
# The ServiceManager benchmark: builds Release, seeds the databases, runs every
# scenario against the real server and the baselines on 127.0.0.1, in
# interleaved rounds, and prints one line per figure, then one line per
# target:
#
#   ratio <name> <value> (target <op> <x>)
#
# Each figure is the median of the rounds. A read scenario runs on the 10k and
# the 1M database in one interleaved pair per round (pair, below), and echo in
# two halves around the describe pair. Usage:
#   bench/run.sh [--rounds N] [--seconds S] [--e2e-seconds S] [--scale-services N]
# The 1M-service database is seeded once and kept in build-release/bench-data.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
seconds=4
e2e_seconds=30
scale_services=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --e2e-seconds) e2e_seconds="$2"; shift 2 ;;
    --scale-services) scale_services="$2"; shift 2 ;;
    *) echo "usage: bench/run.sh [--rounds N] [--seconds S] [--e2e-seconds S] [--scale-services N]" >&2; exit 2 ;;
  esac
done

tools/install-deps.sh >/dev/null
build=build-release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSM_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target servicemanager sm_bench_echo \
  sm_bench_load sm_bench_seed sm_bench_sqlite sm_bench_page_misses >/dev/null
bin="$build/bench"
server="$build/server/servicemanager"
data="$build/bench-data"
work="$data/run"
rm -rf "$work"
mkdir -p "$data" "$work"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# seed NAME ARGS...: seeds $data/NAME/servicemanager.db once for these
# arguments, this schema and this seeder (a change to either seeds again).
seed() {
  local name="$1"; shift
  local marker="$data/$name/seeded-with"
  local with
  with="$* schema=$(cat migrations/*.up.sql bench/seed.cc bench/seeded_ids.h | md5sum | cut -c1-12)"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$with" ]; then return; fi
  rm -rf "${data:?}/$name"
  mkdir -p "$data/$name"
  "$bin/sm_bench_seed" --db "$data/$name/servicemanager.db" "$@" >&2
  echo "$with" > "$marker"
}
# A fresh copy of a seeded database, for a run that writes. The copy is
# synced before a server opens it: otherwise the first checkpoint of the run,
# the first fsync of the database file, writes all of the copy out, and the
# commits beside it wait for a quarter of a second (BENCHMARKS.md).
copy_of() {
  local dir="$work/$1-$2"
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$data/$1/servicemanager.db" "$dir/"
  sync "$dir/servicemanager.db"
  echo "$dir"
}

# gauge PORT NAME: the value of gauge NAME on the /metrics endpoint at PORT,
# as an integer (bash's /dev/tcp: no HTTP client to install).
gauge() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  reply=$(cat <&3)
  exec 3<&-
  awk -v name="$2" '$1 == name { printf "%d\n", $2 }' <<<"$reply"
}

# start_server DIR [FLAGS...]: starts servicemanager on DIR; sets $port and
# $server_pid and $startup_ms (spawn to ready line).
start_server() {
  local dir="$1"; shift
  local log="$dir/server.log"
  local t0; t0=$(date +%s%N)
  "$server" --listen 127.0.0.1:0 --data-dir "$dir" "$@" 2>"$log" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 600); do
    if grep -q "ready: listening on" "$log"; then break; fi
    sleep 0.01
  done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  port=$(grep -o "ready: listening on 127.0.0.1:[0-9]*" "$log" | grep -o "[0-9]*$")
}
stop_server() {
  kill "$1"; wait "$1" 2>/dev/null || true
}

results="$work/results"
: > "$results"
# record NAME RESULT-LINE: keeps "NAME key=value..." for the medians.
record() {
  echo "$1 ${2#result }" >> "$results"
  echo "$1 ${2#result }"
}
load() {
  load_for "$seconds" "$@"
}
load_for() {
  local duration="$1"; shift
  "$bin/sm_bench_load" --duration-seconds "$duration" "$@" 2>>"$work/load.err"
}
# mean_of LINE LINE: one result line from two of the same scenario and
# duration: calls and errors added, QPS and each percentile the mean of the
# two (for a percentile, an estimate of the whole's).
mean_of() {
  printf '%s\n%s\n' "$1" "$2" | awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); key[i] = kv[1]; v[i] += kv[2]; text[i] = kv[2] } }
    END {
      line = "result"
      for (i = 2; i <= NF; i++) {
        if (key[i] == "scenario") value = text[i]
        else if (key[i] == "calls" || key[i] == "errors") value = v[i]
        else value = int(v[i] / 2 + 0.5)
        line = line " " key[i] "=" value
      }
      print line
    }'
}
# pair NAME ARGS...: the scenario on the 10k server (figure NAME) and on the
# 1M one (NAME_1m), as four loads of half the time each in the order small,
# large, large, small: the machine's speed, which drifts during a run, weighs
# alike on both figures of the slowdown. Each figure is the mean of its two
# halves (mean_of); the halves are kept in $results as NAME_half and
# NAME_1m_half.
pair() {
  local name="$1"; shift
  local half small_a large_a large_b small_b
  half=$(awk -v s="$seconds" 'BEGIN { print s / 2 }')
  small_a=$(load_for "$half" "${small[@]}" "$@")
  large_a=$(load_for "$half" "${large[@]}" "$@")
  large_b=$(load_for "$half" "${large[@]}" "$@")
  small_b=$(load_for "$half" "${small[@]}" "$@")
  printf '%s\n' "${name}_half ${small_a#result }" "${name}_half ${small_b#result }" \
    "${name}_1m_half ${large_a#result }" "${name}_1m_half ${large_b#result }" >> "$results"
  record "$name" "$(mean_of "$small_a" "$small_b")"
  record "${name}_1m" "$(mean_of "$large_a" "$large_b")"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "seeding (kept between runs)..."
seed read-10k --services 10000 --operations-per-service 11 --hot-operations 100000
seed writes --services 300000 --operations-per-service 1
seed writes-paused --services 300000 --operations-per-service 2 --paused
seed scale --services "$scale_services" --operations-per-service 11 --hot-operations 100000

# Baseline servers, up for the whole run.
"$bin/sm_bench_echo" > "$work/echo.out" &
pids+=("$!")
for _ in $(seq 1 300); do grep -q listening "$work/echo.out" && break; sleep 0.01; done
echo_port=$(grep -o "[0-9]*$" "$work/echo.out")
read_dir=$(copy_of read-10k 0)
start_server "$read_dir"
read_port=$port
scale_dir="$data/scale"
start_server "$scale_dir" --worker-delay-ms 200
scale_port=$port
record scale_startup "result ms=$startup_ms"
scale_pid=$server_pid

# warm_scale: reads the 1M-service file into the kernel's page cache ("a warm
# database"): the 1M figures are meant to count SQLite's page cache misses,
# not disk reads. Other files the run writes (and other work on the machine)
# push it out, so every round starts with it; fincore, where installed,
# records how much of it was still cached.
warm_scale() {
  if command -v fincore >/dev/null; then
    record scale_cached "result pct=$(fincore --bytes --noheadings --output RES,SIZE "$scale_dir/servicemanager.db" | awk '{printf "%d", 100 * $1 / $2}')"
  fi
  cat "$scale_dir/servicemanager.db" > /dev/null
}

# Warm-up, not recorded: each server's statements prepared.
for scenario in describe list_operations; do
  for target in "127.0.0.1:$read_port --seeded 10000" "127.0.0.1:$scale_port --seeded $scale_services"; do
    # shellcheck disable=SC2086  # two words: the address and --seeded N
    "$bin/sm_bench_load" --duration-seconds 2 --scenario $scenario --target $target >/dev/null
  done
done

for round in $(seq 1 "$rounds"); do
  echo "round $round"
  warm_scale
  # Reads pick among every seeded service.
  small=(--target 127.0.0.1:$read_port --seeded 10000)
  large=(--target 127.0.0.1:$scale_port --seeded "$scale_services")
  # Echo in two halves around the describe pair, so that both figures of
  # describe_qps_vs_echo are centred on the same moment of the round.
  half=$(awk -v s="$seconds" 'BEGIN { print s / 2 }')
  echo_a=$(load_for "$half" --target 127.0.0.1:$echo_port --scenario echo)
  pair describe --scenario describe
  echo_b=$(load_for "$half" --target 127.0.0.1:$echo_port --scenario echo)
  printf '%s\n' "echo_half ${echo_a#result }" "echo_half ${echo_b#result }" >> "$results"
  record echo "$(mean_of "$echo_a" "$echo_b")"
  pair list_operations --scenario list_operations
  pair deep_list_operations --scenario deep_list_operations --deep-pages 500

  # The write ceiling of SQLite alone, then the server's accepts, each on a
  # fresh copy, at the same durability (FULL).
  dir=$(copy_of writes "ceiling-$round")
  record sqlite_ceiling "$("$bin/sm_bench_sqlite" --db "$dir/servicemanager.db" --duration-seconds "$seconds")"
  dir=$(copy_of writes "pause-$round")
  start_server "$dir" --worker-delay-ms 3600000
  record pause "$(load --target 127.0.0.1:$port --scenario pause --seeded 300000)"
  stop_server "$server_pid"
  dir=$(copy_of writes-paused "resume-$round")
  start_server "$dir" --worker-delay-ms 3600000
  record resume "$(load --target 127.0.0.1:$port --scenario resume --seeded 300000)"
  stop_server "$server_pid"

  # Accepted and finished in the same window, with the worker's compute
  # step at zero. Every second of the load, the queue's depth (operations
  # accepted and not yet ended) is read from /metrics, and the most of each
  # half is kept: a worker that keeps up holds it near one batch (256) in
  # both; one that falls behind adds its shortfall every second.
  dir=$(copy_of writes "e2e-$round")
  start_server "$dir" --worker-delay-ms 0 --metrics-listen 127.0.0.1:0
  metrics_port=$(grep -o "metrics: serving http://127.0.0.1:[0-9]*" "$dir/server.log" | grep -o "[0-9]*$")
  "$bin/sm_bench_load" --duration-seconds "$e2e_seconds" --target 127.0.0.1:$port --scenario pause --seeded 300000 >"$dir/load.out" 2>>"$work/load.err" &
  load_pid=$!
  depths=()
  while sleep 1 && kill -0 "$load_pid" 2>/dev/null; do
    depths+=("$(gauge "$metrics_port" servicemanager_operation_queue_depth)")
  done
  wait "$load_pid"
  line=$(cat "$dir/load.out")
  stop_server "$server_pid"
  half=$(( ${#depths[@]} / 2 ))
  first_max=$(printf '%s\n' "${depths[@]:0:$half}" | sort -n | tail -1)
  second_max=$(printf '%s\n' "${depths[@]:$half}" | sort -n | tail -1)
  counts=$(sqlite3 "$dir/servicemanager.db" "SELECT COUNT(*), SUM(ended_at IS NOT NULL), SUM(ended_at IS NULL), CAST(AVG(ended_at - started_at) / 1000 AS INTEGER) FROM operations WHERE type = 'PAUSE_SERVICE'")
  IFS='|' read -r accepted finished open mean_ms <<<"$counts"
  record e2e "result accepted=$accepted finished=$finished open_at_stop=$open mean_accept_to_end_ms=$mean_ms backlog_first_half_max=${first_max:-0} backlog_second_half_max=${second_max:-0} ${line#result scenario=pause }"

  dir=$(copy_of read-10k "mixed-$round")
  start_server "$dir" --worker-delay-ms 0
  record mixed "$(load --target 127.0.0.1:$port --scenario mixed --seeded 10000)"
  stop_server "$server_pid"
done
record scale_peak_rss "result kib=$(grep VmHWM /proc/$scale_pid/status | grep -o '[0-9]*')"

# median NAME KEY: the median of KEY over NAME's rounds.
median() {
  grep "^$1 " "$results" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2 | sort -n |
    awk '{v[NR]=$1} END {if (NR==0) print 0; else print v[int((NR+1)/2)]}'
}
# ratio NAME VALUE OP TARGET
ratio() {
  printf 'ratio %s %s (target %s %s)\n' "$1" "$2" "$3" "$4"
}
# Three decimals: with two, a describe/echo ratio of 0.698 printed as 0.70,
# which reads as meeting ">= 0.7".
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.3f", a / b }'; }

echo "medians over $rounds rounds:"
for name in echo describe describe_1m list_operations list_operations_1m deep_list_operations deep_list_operations_1m pause resume mixed; do
  echo "figure $name qps=$(median $name qps) p50_us=$(median $name p50_us) p99_us=$(median $name p99_us) p999_us=$(median $name p999_us)"
done
echo "figure sqlite_ceiling qps=$(median sqlite_ceiling qps)"
accepted=$(median e2e accepted)
finished=$(median e2e finished)
echo "figure e2e accepted=$accepted finished=$finished open_at_stop=$(median e2e open_at_stop) mean_accept_to_end_ms=$(median e2e mean_accept_to_end_ms) backlog_first_half_max=$(median e2e backlog_first_half_max) backlog_second_half_max=$(median e2e backlog_second_half_max) accept_qps=$(median e2e qps)"
echo "figure scale startup_ms=$(median scale_startup ms) peak_rss_kib=$(median scale_peak_rss kib) cached_at_round_start_pct=$(median scale_cached pct)"

ratio describe_qps_vs_echo "$(div "$(median describe qps)" "$(median echo qps)")" ">=" 0.7
ratio describe_p99_vs_echo "$(div "$(median describe p99_us)" "$(median echo p99_us)")" "<=" 2
ratio pause_accepts_vs_sqlite_ceiling "$(div "$(median pause qps)" "$(median sqlite_ceiling qps)")" ">=" 2
ratio resume_accepts_vs_sqlite_ceiling "$(div "$(median resume qps)" "$(median sqlite_ceiling qps)")" ">=" 2
ratio e2e_finished_vs_accepted "$(div "$finished" "$accepted")" ">=" 0.8
ratio describe_1m_slowdown "$(div "$(median describe qps)" "$(median describe_1m qps)")" "<=" 1.3
ratio list_operations_1m_slowdown "$(div "$(median list_operations qps)" "$(median list_operations_1m qps)")" "<=" 1.3
ratio deep_list_operations_1m_slowdown "$(div "$(median deep_list_operations qps)" "$(median deep_list_operations_1m qps)")" "<=" 1.3
ratio scale_startup_seconds "$(div "$(median scale_startup ms)" 1000)" "<=" 2
ratio scale_peak_rss_mb "$(div "$(median scale_peak_rss kib)" 1024)" "<=" 150
