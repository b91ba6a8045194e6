#!/usr/bin/env bash
# Installs what is missing, builds, and runs the server on 127.0.0.1:50051
# with its SQLite file in ./data. Extra arguments go to the server.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
exec build/server/servicemanager --listen 127.0.0.1:50051 --data-dir ./data "$@"
