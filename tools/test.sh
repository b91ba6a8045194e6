#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, checks the
# formatting and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
git ls-files -- '*.h' '*.cc' | xargs clang-format --dry-run --Werror
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 300
