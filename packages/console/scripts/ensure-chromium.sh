#!/usr/bin/env bash
# Installs Debian's chromium when no `chromium` is on PATH, the way the native stack installs
# its Debian packages (scripts/lib/common.sh need_cmd: apt-get from Debian's mirror, the
# package index refreshed at most once a day). Prints the browser's path.
# The console's end-to-end test calls this; SCALEWISE_CHROMIUM overrides the browser.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [[ -n ${SCALEWISE_CHROMIUM:-} ]]; then
  echo "$SCALEWISE_CHROMIUM"
  exit 0
fi
# shellcheck source=../../../scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
need_cmd chromium chromium
command -v chromium
