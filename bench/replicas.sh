#!/usr/bin/env bash
# The replica benchmark of issue 9: PauseService accepts, and pauses finished
# end to end (accept to end, --worker-delay-ms 0), with 1 and with 3 replicas
# of servicemanager on one private PostgreSQL, beside one server on SQLite.
# Builds Release, seeds once (PostgreSQL through the API, with sm_bench_load
# --scenario create and one server; SQLite with sm_bench_seed, as bench/run.sh
# does), then in interleaved rounds runs the same pause load against a fresh
# copy of the seed in each configuration, stops the servers (SIGTERM) and
# counts the operations in the database. Prints one `run` line per run, one
# `figure` line per configuration (medians of the rounds), and:
#
#   ratio replicas3_vs_1_e2e <value> (target >= 0.9)
#   ratio replicas3_vs_1_accepts <value> (target >= 0.9)
#
# Usage:
#   bench/replicas.sh [--rounds N] [--seconds S] [--services N]
#                     [--sqlite-services N]
# --services RUNNING services are seeded on PostgreSQL, --sqlite-services on
# SQLite, which accepts several times faster; each is enough for the pause
# load of the default --seconds on a 2-core machine (a run that runs out says
# so).
# PostgreSQL runs with fsync=off (tests/testing/private-postgres): the figures
# are the cost of coordinating replicas, not of durable commits.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
seconds=10
services=6000
sqlite_services=60000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --services) services="$2"; shift 2 ;;
    --sqlite-services) sqlite_services="$2"; shift 2 ;;
    *) echo "usage: bench/replicas.sh [--rounds N] [--seconds S] [--services N] [--sqlite-services N]" >&2; exit 2 ;;
  esac
done

tools/install-deps.sh >/dev/null
build="build-release"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSM_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target servicemanager sm_bench_echo \
  sm_bench_load sm_bench_seed sm_bench_sqlite >/dev/null
load_bin="$build/bench/sm_bench_load"
server="$build/server/servicemanager"
work="$build/replicas-bench"
# Outside $work, so that a killed run's PostgreSQL is found and stopped.
pg_state="$build/replicas-postgres"
rm -rf "$work"
mkdir -p "$work"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tests/testing/private-postgres stop "$pg_state" >/dev/null || true
}
trap cleanup EXIT

# A server of this script's own, never a shared one.
unset SM_TEST_POSTGRES_URL
url=$(tests/testing/private-postgres start "$pg_state")
case "$url" in
  postgresql://*) ;;
  *) echo "bench/replicas.sh needs PostgreSQL: $url" >&2; exit 1 ;;
esac
pg_data=$(cat "$pg_state/datadir")
postmaster=$(head -n 1 "$pg_data/postmaster.pid")
# db_url NAME: the URL of database NAME on that server.
db_url() { echo "postgresql:///$1?host=$pg_data&user=postgres"; }
# sql DB STATEMENT: runs it and prints the rows, fields separated by |.
sql() { psql "$(db_url "$1")" -X -q -v ON_ERROR_STOP=1 -At -c "$2"; }

# start_server LOG FLAGS...: starts servicemanager on 127.0.0.1:0; sets $port
# and $server_pid.
start_server() {
  local log="$1"; shift
  "$server" --listen 127.0.0.1:0 "$@" 2>"$log" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 1000); do
    if grep -q "ready: listening on" "$log"; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.01
  done
  port=$(grep -o "ready: listening on 127.0.0.1:[0-9]*" "$log" | grep -o "[0-9]*$" || true)
  if [ -z "$port" ]; then
    echo "servicemanager did not start:" >&2
    cat "$log" >&2
    exit 1
  fi
}
# stop_servers PID...: SIGTERM, then waits for each to exit.
stop_servers() {
  local pid
  for pid in "$@"; do kill "$pid"; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
  local kept=()
  for pid in "${pids[@]}"; do
    case " $* " in *" $pid "*) ;; *) kept+=("$pid") ;; esac
  done
  pids=("${kept[@]}")
}

# wait_running N COUNT-COMMAND...: until COUNT-COMMAND prints N.
wait_running() {
  local want="$1"; shift
  local count=0
  for _ in $(seq 1 600); do
    count=$("$@")
    if [ "$count" -ge "$want" ]; then return; fi
    sleep 0.5
  done
  echo "only $count of $want services RUNNING after 300 s" >&2
  exit 1
}
# create_services TARGET N: creates services bench-0 to bench-N-1.
create_services() {
  "$load_bin" --target "$1" --scenario create --max-services "$2" \
    --duration-seconds 3600 2>>"$work/load.err"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r), $(psql --version | head -n 1)"
echo "seeding $services services on PostgreSQL through the API, $sqlite_services on SQLite..."
t0=$(date +%s)
sql postgres "CREATE DATABASE bench_seed"
start_server "$work/seed-pg.log" --database-url "$(db_url bench_seed)" \
  --data-dir "$work/seed-pg" --replica-id seed --worker-delay-ms 0
echo "seed postgres $(create_services "127.0.0.1:$port" "$services")"
wait_running "$services" sql bench_seed "SELECT COUNT(*) FROM services WHERE status = 'RUNNING'"
stop_servers "$server_pid"
sqlite_seed="$work/seed-sqlite"
mkdir -p "$sqlite_seed"
"$build/bench/sm_bench_seed" --db "$sqlite_seed/servicemanager.db" \
  --services "$sqlite_services" --operations-per-service 1 >&2
echo "seeded in $(( $(date +%s) - t0 )) s"

# snapshot FILE PID...: the machine's busy ticks (every process of every
# session) as "machine TICKS", then "PID TICKS" (user + system) of each live
# process, read by one process: forks are slow while the load runs. The
# command names of servicemanager and postgres have no spaces, so the fields
# are in place.
snapshot() {
  local file="$1"; shift
  local stats=()
  local pid
  for pid in "$@"; do stats+=("/proc/$pid/stat"); done
  awk 'FILENAME == "/proc/stat" { if ($1 == "cpu") print "machine", $2 + $3 + $4 + $7 + $8; next }
    { print $1, $14 + $15 }' /proc/stat "${stats[@]}" 2>/dev/null > "$file" || true
}
# postgres_pids: the postmaster and its children (backends and helpers).
postgres_pids() { echo "$postmaster"; pgrep -P "$postmaster" || true; }
# cpu_seconds BEFORE AFTER KEY...: the CPU seconds KEYs (process ids, or
# "machine") used from snapshot BEFORE to AFTER; a process missing from BEFORE
# started in between.
cpu_seconds() {
  local before="$1" after="$2"; shift 2
  awk -v tck="$(getconf CLK_TCK)" -v keys="$*" '
    BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) want[k[i]] = 1 }
    NR == FNR { before[$1] = $2; next }
    $1 in want { total += $2 - before[$1] }
    END { printf "%.2f", total / tck }' "$before" "$after"
}

# sample_waits DB SECONDS: for SECONDS, every 0.2 s, what the backends of DB
# that are in a transaction do: "cpu" (running), "TYPE:EVENT" (waiting, e.g.
# Lock:object), either with "@commit" while they commit, or "client" (idle in
# the transaction: waiting for servicemanager's next statement). Prints each
# with its count of samples. Its own backend is left out.
sample_waits() {
  psql "$(db_url "$1")" -X -q -v ON_ERROR_STOP=1 -At <<SQL
CREATE TEMP TABLE samples (what text);
DO \$\$
DECLARE deadline timestamptz := clock_timestamp() + interval '$2 seconds';
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO samples
      SELECT CASE WHEN state = 'idle in transaction' THEN 'client'
        ELSE COALESCE(wait_event_type || ':' || wait_event, 'cpu')
          || CASE WHEN query = 'COMMIT' THEN '@commit' ELSE '' END END
      FROM pg_stat_activity WHERE datname = current_database()
        AND state IN ('active', 'idle in transaction')
        AND pid <> pg_backend_pid();
    PERFORM pg_sleep(0.2);
  END LOOP;
END
\$\$;
SELECT what, COUNT(*) FROM samples GROUP BY what ORDER BY 2 DESC;
SQL
}
# share WAITS PATTERN: the percentage of WAITS' samples that match PATTERN.
share() {
  awk -F'|' -v pattern="$2" '{ total += $2 } $1 ~ pattern { n += $2 }
    END { printf "%.0f", total == 0 ? 0 : 100 * n / total }' "$1"
}

# pg_counters DB: "commits wal_bytes" of the run's database and the server.
pg_counters() {
  sql postgres "SELECT COALESCE((SELECT xact_commit FROM pg_stat_database
    WHERE datname = '$1'), 0), pg_current_wal_lsn() - '0/0'" | tr '|' ' '
}

# The counts and rates of one run's PAUSE_SERVICE operations, read once the
# servers stopped. finished_in_window: ended by the last accept.
count_sql="SELECT COUNT(*), COUNT(ended_at), COUNT(*) - COUNT(ended_at),
  SUM(CASE WHEN status = 'SUCCEEDED' THEN 1 ELSE 0 END),
  SUM(CASE WHEN ended_at <= (SELECT MAX(started_at) FROM operations
    WHERE type = 'PAUSE_SERVICE') THEN 1 ELSE 0 END),
  COALESCE(CAST(AVG(ended_at - started_at) / 1000 AS INTEGER), 0),
  COALESCE(MAX(started_at) - MIN(started_at), 0)
  FROM operations WHERE type = 'PAUSE_SERVICE'"

results="$work/results"
: > "$results"
# run_sql WHERE STATEMENT: on PostgreSQL database WHERE, or on the SQLite
# database in directory WHERE.
run_sql() {
  if [ -d "$1" ]; then
    sqlite3 "$1/servicemanager.db" "$2"
  else
    sql "$1" "$2"
  fi
}

# measure NAME ROUND WHERE SERVICES TARGETS SERVER-PID...: runs the pause load
# on TARGETS, the servers of WHERE (see run_sql), stops them, counts and
# records the run. SERVICES: --seeded=N or --max-services=N, what the load
# pauses.
measure() {
  local name="$1" round="$2" where="$3" services_flag="$4" targets="$5"
  shift 5
  local err="$work/$name-$round.err" out="$work/$name-$round.out"
  local pg=false
  if [ "$name" != sqlite ]; then pg=true; fi
  local commits0=0 wal0=0
  if $pg; then read -r commits0 wal0 <<<"$(pg_counters "$where")"; fi
  # CPU time from the load's start to its end: of the servers, of
  # PostgreSQL (its backends that started in between included) and of the
  # whole machine. The load's own listing of the services is in the window.
  local pg_procs=()
  if $pg; then mapfile -t pg_procs < <(postgres_pids); fi
  snapshot "$work/before" "$@" "${pg_procs[@]}"
  local t0; t0=$(date +%s%N)
  local waits="$work/$name-$round.waits" sampler=""
  if $pg; then
    # Ends a little before the load, which lists the services first.
    sample_waits "$where" "$(( seconds > 1 ? seconds - 1 : 1 ))" >"$waits" &
    sampler=$!
  fi
  # Six connections for every configuration: two to each of three replicas.
  "$load_bin" --target "$targets" --scenario pause --channels 6 \
    "$services_flag" --duration-seconds "$seconds" >"$out" 2>"$err"
  if $pg; then mapfile -t pg_procs < <(postgres_pids); fi
  snapshot "$work/after" "$@" "${pg_procs[@]}"
  local elapsed_s; elapsed_s=$(awk -v ns="$(( $(date +%s%N) - t0 ))" 'BEGIN { printf "%.2f", ns / 1e9 }')
  if [ -n "$sampler" ]; then wait "$sampler"; fi
  local server_cpu; server_cpu=$(cpu_seconds "$work/before" "$work/after" "$@")
  local postgres_cpu=0
  if $pg; then
    postgres_cpu=$(cpu_seconds "$work/before" "$work/after" "${pg_procs[@]}")
  fi
  local busy; busy=$(cpu_seconds "$work/before" "$work/after" machine)
  local load_cpu
  load_cpu=$(awk '$1 == "load_cpu_s" { printf "%.2f", $2 }' "$err")
  stop_servers "$@"
  if grep -q "ran out" "$err"; then
    echo "warning: $name round $round ran out of RUNNING services: seed more (--services, --sqlite-services)" >&2
  fi

  local counts; counts=$(run_sql "$where" "$count_sql")
  local accepted finished open succeeded in_window mean_ms window_us
  IFS='|' read -r accepted finished open succeeded in_window mean_ms window_us <<<"$counts"
  local pg_fields=""
  if $pg; then
    # Commits in the run's database and WAL written, from before the load
    # (its listing included) to the servers' exit (their backends report
    # their counts at exit).
    local commits1 wal1
    read -r commits1 wal1 <<<"$(pg_counters "$where")"
    pg_fields=" commits=$(( commits1 - commits0 ))"
    pg_fields+=" wal_mb=$(awk -v a="$wal0" -v b="$wal1" 'BEGIN { printf "%.1f", (b - a) / 1048576 }')"
    # Of the samples of backends in a transaction: waiting for the lock
    # that PostgreSQL takes to commit a transaction that notified, and
    # waiting for servicemanager.
    pg_fields+=" notify_lock_pct=$(share "$waits" '^Lock:object@commit$')"
    pg_fields+=" client_wait_pct=$(share "$waits" '^client$')"
  fi
  local line; line=$(cat "$out")
  local record
  record="$name round=$round accepted=$accepted finished=$finished open_at_stop=$open succeeded=$succeeded"
  record+=" finished_in_window=$in_window window_ms=$(( window_us / 1000 ))"
  record+=" finished_per_s=$(awk -v n="$in_window" -v us="$window_us" 'BEGIN { if (us == 0) print 0; else printf "%d", n * 1e6 / us }')"
  record+=" accept_qps=$(echo "$line" | grep -o 'qps=[0-9]*' | cut -d= -f2)"
  record+=" p50_us=$(echo "$line" | grep -o 'p50_us=[0-9]*' | cut -d= -f2)"
  record+=" p99_us=$(echo "$line" | grep -o 'p99_us=[0-9]*' | cut -d= -f2)"
  record+=" errors=$(echo "$line" | grep -o 'errors=[0-9]*' | cut -d= -f2)"
  record+=" mean_accept_to_end_ms=$mean_ms window_s=$elapsed_s"
  record+=" server_cpu_s=$server_cpu postgres_cpu_s=$postgres_cpu load_cpu_s=$load_cpu"
  record+=" machine_busy_s=$busy"
  record+="$pg_fields"
  echo "$record" >> "$results"
  echo "run $record"
}

for round in $(seq 1 "$rounds"); do
  echo "round $round"
  dir="$work/sqlite-$round"
  cp -a "$sqlite_seed" "$dir"
  # Synced before the server opens it, as in bench/run.sh: otherwise the
  # first checkpoint writes the whole copy out while commits wait.
  sync "$dir"/*
  start_server "$work/sqlite-$round.log" --data-dir "$dir" --worker-delay-ms 0
  measure sqlite "$round" "$dir" "--seeded=$sqlite_services" "127.0.0.1:$port" "$server_pid"

  for replicas in 1 3; do
    db="run_${round}_$replicas"
    sql postgres "CREATE DATABASE $db TEMPLATE bench_seed"
    targets=""
    servers=()
    for r in $(seq 1 "$replicas"); do
      start_server "$work/$db-r$r.log" --database-url "$(db_url "$db")" \
        --data-dir "$work/$db-r$r" --replica-id "replica-$r" --worker-delay-ms 0
      targets+="${targets:+,}127.0.0.1:$port"
      servers+=("$server_pid")
    done
    measure "pg$replicas" "$round" "$db" "--max-services=$services" "$targets" "${servers[@]}"
  done
done

# median NAME KEY: the median of KEY over NAME's rounds.
median() {
  grep "^$1 " "$results" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2 | sort -n |
    awk '{v[NR]=$1} END {if (NR==0) print 0; else print v[int((NR+1)/2)]}'
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }

echo "medians over $rounds rounds:"
for name in sqlite pg1 pg3; do
  line="figure $name"
  for key in accept_qps finished_per_s open_at_stop p50_us p99_us mean_accept_to_end_ms \
    server_cpu_s postgres_cpu_s load_cpu_s machine_busy_s; do
    line+=" $key=$(median "$name" "$key")"
  done
  if [ "$name" != sqlite ]; then
    for key in commits wal_mb notify_lock_pct client_wait_pct; do
      line+=" $key=$(median "$name" "$key")"
    done
  fi
  echo "$line"
done
printf 'ratio replicas3_vs_1_e2e %s (target >= 0.9)\n' \
  "$(div "$(median pg3 finished_per_s)" "$(median pg1 finished_per_s)")"
printf 'ratio replicas3_vs_1_accepts %s (target >= 0.9)\n' \
  "$(div "$(median pg3 accept_qps)" "$(median pg1 accept_qps)")"
