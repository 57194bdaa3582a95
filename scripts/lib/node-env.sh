# shellcheck shell=bash
# Puts the project's Node.js 24 and pnpm first on PATH (installing them into the cache if
# needed). Sourced by every project command.
_sw_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
eval "$("$_sw_repo/scripts/bootstrap" --env)"
export npm_config_store_dir=${npm_config_store_dir:-${SCALEWISE_HOME:-$HOME/.cache/scalewise}/pnpm-store}
unset _sw_repo
