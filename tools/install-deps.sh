#!/usr/bin/env bash
# Installs the Debian 12 packages ServiceManager builds and tests with.
set -euo pipefail
packages=(
  cmake g++ make pkg-config clang-format
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libsqlite3-dev libsqlitecpp-dev sqlite3
  libabsl-dev libcli11-dev libgtest-dev libgmock-dev prometheus-cpp-dev
)
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
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
