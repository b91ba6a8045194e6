#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DSM_SANITIZE=ON, g++) into build-asan/ and runs every ctest test against
# it. Any sanitizer report fails its test. SM_JOBS sets the build's parallel
# jobs (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/sanitizer-env.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSM_WERROR=ON \
  -DSM_SANITIZE=ON >/dev/null
cmake --build build-asan -j"${SM_JOBS:-$(nproc)}"
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" --timeout 600
