#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, checks the
# formatting and runs every test with ctest; then the same tests built with
# ASan and UBSan (tools/sanitize.sh) and a bounded fuzz run of the API
# (tools/fuzz.sh). SM_SANITIZERS=0 skips those two.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
git ls-files -- '*.h' '*.cc' | xargs clang-format --dry-run --Werror
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 300
if [ "${SM_SANITIZERS:-1}" != 0 ]; then
  tools/sanitize.sh
  tools/fuzz.sh
fi
