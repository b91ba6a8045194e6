#!/usr/bin/env bash
# Installs the npm packages of the deploy checks, at the exact versions of
# package-lock.json, into DEST/node_modules (the build tree, not the sources).
# Skipped when DEST already holds an install of the same lock file.
#   npm-ci.sh SOURCE_DIR DEST
set -euo pipefail
src=$1
dest=$2
mkdir -p "$dest"
if [ -d "$dest/node_modules" ] && cmp -s "$src/package-lock.json" "$dest/installed-package-lock.json"; then
  echo "npm packages up to date in $dest"
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
# --ignore-scripts: none of these packages needs an install script.
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
# Written last, so an interrupted install is redone next time.
cp package-lock.json installed-package-lock.json
echo "npm packages installed in $dest"
