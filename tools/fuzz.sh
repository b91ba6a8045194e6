#!/usr/bin/env bash
# Builds the API fuzz target (tests/fuzz/api_fuzzer.cc) with clang, libFuzzer,
# ASan and UBSan into build-fuzz/ and runs it for SM_FUZZ_SECONDS seconds
# (default 60) from the seed corpus tests/fuzz/corpus. What it learns goes to
# build-fuzz/corpus (kept between runs, never into the repository); a finding
# stops the run and leaves its input in build-fuzz/crash-* (or leak-*,
# timeout-*). Run longer locally with SM_FUZZ_SECONDS=3600 tools/fuzz.sh.
# Ends with one line:
#   fuzz: seconds=S execs=E corpus=C findings=F
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/sanitizer-env.sh
seconds="${SM_FUZZ_SECONDS:-60}"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSM_WERROR=ON \
  -DSM_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz --target api_fuzzer -j"${SM_JOBS:-$(nproc)}"
mkdir -p build-fuzz/corpus
rm -f build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-* \
  build-fuzz/oom-*
log=build-fuzz/fuzz.log
status=0
build-fuzz/tests/fuzz/api_fuzzer -max_total_time="$seconds" -timeout=30 \
  -rss_limit_mb=4096 -max_len=16384 -print_final_stats=1 \
  -artifact_prefix=build-fuzz/ build-fuzz/corpus tests/fuzz/corpus \
  >"$log" 2>&1 || status=$?
findings=$(find build-fuzz -maxdepth 1 -name 'crash-*' -o -maxdepth 1 \
  -name 'leak-*' -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 \
  -name 'oom-*' | wc -l)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
corpus=$(find build-fuzz/corpus -type f | wc -l)
if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
  grep -v ' INFO ' "$log" | tail -n 60
  findings=$((findings > 0 ? findings : 1))
fi
echo "fuzz: seconds=$seconds execs=${execs:-0} corpus=$corpus findings=$findings"
[ "$findings" -eq 0 ]
