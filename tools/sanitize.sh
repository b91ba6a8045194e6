#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DSM_SANITIZE=ON, g++) into build-asan/ and runs every ctest test against
# it. Any sanitizer report fails its test. SM_JOBS sets the build's parallel
# jobs (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/sanitizer-env.sh
# -O1 -g1 (line tables only): reports keep file and line, and the build takes
# about half the time of -O2 -g on CI's two cores.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" \
  -DSM_WERROR=ON -DSM_SANITIZE=ON >/dev/null
cmake --build build-asan -j"${SM_JOBS:-$(nproc)}"
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" --timeout 600
