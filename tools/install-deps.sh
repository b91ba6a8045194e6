#!/usr/bin/env bash
# Installs the Debian 12 packages ServiceManager builds and tests with.
set -euo pipefail
packages=(
  cmake g++ make pkg-config clang-format
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libsqlite3-dev libsqlitecpp-dev sqlite3 libpqxx-dev
  libabsl-dev libcli11-dev libgtest-dev libgmock-dev prometheus-cpp-dev
  libcpp-httplib-dev libssl-dev openssl libcurl4-openssl-dev
)
# The AWS clients the App Runner endpoint is tested with (tests/aws). The
# Docker build stage runs no tests and sets SM_DEPS_AWS_CLIENTS=0.
if [ "${SM_DEPS_AWS_CLIENTS:-1}" != 0 ]; then
  packages+=(python3-boto3 awscli)
fi
# The container runtime the Podman end-to-end test (tests/podman) runs
# services on, and busybox-static for its test images. The Docker build stage
# sets SM_DEPS_CONTAINERS=0.
if [ "${SM_DEPS_CONTAINERS:-1}" != 0 ]; then
  packages+=(podman runc busybox-static)
fi
# clang and its libFuzzer runtime for the fuzz build (tools/fuzz.sh). The
# Docker build stage runs no tests and sets SM_DEPS_FUZZ=0.
if [ "${SM_DEPS_FUZZ:-1}" != 0 ]; then
  packages+=(clang libclang-rt-14-dev)
fi
# PostgreSQL's server and psql, for the tests of the PostgreSQL backend: each
# run starts a private server of its own (tests/testing/private-postgres). The
# Docker build stage runs no tests and sets SM_DEPS_POSTGRES=0.
if [ "${SM_DEPS_POSTGRES:-1}" != 0 ]; then
  packages+=(postgresql postgresql-client)
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # The tests start their own servers: no system cluster on port 5432.
  if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    $sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" |
      $sudo tee /etc/postgresql-common/createcluster.d/servicemanager-tests.conf >/dev/null
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# tests/deploy checks deploy/ with Node.js scripts (their npm packages are
# pinned in tests/deploy/package-lock.json). A machine that has Node.js and npm
# of its own keeps them; Debian's are enough otherwise. The Docker build stage
# runs no tests and sets SM_DEPS_NODE=0.
if [ "${SM_DEPS_NODE:-1}" != 0 ] && ! { command -v node && command -v npm; } >/dev/null; then
  echo "installing: nodejs npm"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm
fi

# The buf CLI (npm package @bufbuild/buf, pinned in tools/buf/package-lock.json)
# for the test that drives the server with `buf curl` through server
# reflection only, as grpcurl would (grpcurl is not packaged in Debian). It
# goes into build-tools/buf, which git ignores and later runs keep (npm-ci.sh
# installs again only when the lock file changes), before cmake configures:
# tests/cli registers the test where it finds buf.
if [ "${SM_DEPS_NODE:-1}" != 0 ] && command -v npm >/dev/null; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  "$root/tests/deploy/npm-ci.sh" "$root/tools/buf" "$root/build-tools/buf"
fi
