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
# One private PostgreSQL for every ctest run below: the private_postgres
# fixtures use it (SM_TEST_POSTGRES_URL) instead of starting their own. It is
# stopped when the script ends, also when a step fails or it is interrupted.
pg_state="$PWD/build/private-postgres-test-sh"
trap 'tests/testing/private-postgres stop "$pg_state"' EXIT
trap 'exit 130' INT TERM HUP
tests/testing/private-postgres start "$pg_state"
if [ -f "$pg_state/url" ]; then
  SM_TEST_POSTGRES_URL="$(cat "$pg_state/url")"
  export SM_TEST_POSTGRES_URL
fi
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 300
if [ "${SM_SANITIZERS:-1}" != 0 ]; then
  tools/sanitize.sh
  tools/fuzz.sh
fi
