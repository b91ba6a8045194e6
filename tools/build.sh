#!/usr/bin/env bash
# Configures and builds into build/ with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DSM_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
