# shellcheck shell=bash
# Shared helpers for scripts/stack and its components (scripts/lib/<component>.sh).
#
# Layout (all outside the work tree, overridable by env):
#   SCALEWISE_HOME            default ~/.cache/scalewise
#   SCALEWISE_CACHE           $SCALEWISE_HOME/install   downloaded/built artefacts, reused across runs
#   SCALEWISE_RUN_DIR         $SCALEWISE_HOME/run       pid files, logs, data of the running stack
#
# A component <c> is a file scripts/lib/<c>.sh defining:
#   <c>_install   idempotent; fast when already cached
#   <c>_start     starts the server in the background (pid in $(pidfile <c>)), logs to $(logfile <c>)
#   <c>_ready     one real protocol round trip; exit 0 when ready
#   <c>_stop      stops what <c>_start started (never a foreign process)
#   <c>_ports     prints "PORT ENV_VAR" lines for the ports it will bind
#   <c>_describe  one line: where it listens
#   <c>_configure optional: runs once the server is ready (the secure Kafka's ACLs)
#   <c>_mode      optional: the mode asked for (secure or not); <c>_start writes it to <run>/<c>/mode

set -o pipefail

SCALEWISE_HOME=${SCALEWISE_HOME:-$HOME/.cache/scalewise}
SCALEWISE_CACHE=${SCALEWISE_CACHE:-$SCALEWISE_HOME/install}
SCALEWISE_RUN_DIR=${SCALEWISE_RUN_DIR:-$SCALEWISE_HOME/run}
export SCALEWISE_HOME SCALEWISE_CACHE SCALEWISE_RUN_DIR

log() { printf '[stack] %s\n' "$*" >&2; }
warn() { printf '[stack] warning: %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

pidfile() { echo "$SCALEWISE_RUN_DIR/$1/$1.pid"; }
logfile() { echo "$SCALEWISE_RUN_DIR/$1/$1.log"; }
datadir() { echo "$SCALEWISE_RUN_DIR/$1/data"; }
rundir() { mkdir -p "$SCALEWISE_RUN_DIR/$1" && echo "$SCALEWISE_RUN_DIR/$1"; }

# is_running <component>: the pid in its pid file is alive.
is_running() {
  local pf; pf=$(pidfile "$1")
  [[ -f $pf ]] && kill -0 "$(cat "$pf")" 2>/dev/null
}

# port_in_use <port>: something listens on 127.0.0.1:<port> (or on all addresses).
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_bg <component> <cmd...>: start a server detached in its own process group,
# stdout+stderr to its log, pid to its pid file.
start_bg() {
  local c=$1; shift
  rundir "$c" >/dev/null
  local lf; lf=$(logfile "$c")
  : >"$lf"
  # fd 9 is the stack lock: a server must not hold it for its whole life.
  setsid "$@" >>"$lf" 2>&1 </dev/null 9>&- &
  echo $! >"$(pidfile "$c")"
  if declare -F "${c}_mode" >/dev/null; then "${c}_mode" >"$SCALEWISE_RUN_DIR/$c/mode"; fi
}

# stop_pid <component> [timeout-seconds]: TERM the process group, then KILL after the timeout.
stop_pid() {
  local c=$1 timeout=${2:-20} pf pid
  pf=$(pidfile "$c")
  [[ -f $pf ]] || return 0
  pid=$(cat "$pf")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      warn "$c did not stop in ${timeout}s, killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$pf"
}

# log_tail <component> [lines]: the end of a component's log, for error messages.
log_tail() {
  local lf; lf=$(logfile "$1")
  [[ -f $lf ]] && { echo "--- last ${2:-40} lines of $lf ---"; tail -n "${2:-40}" "$lf"; echo "---"; } >&2
}

# wait_ready <component> <timeout-seconds>: poll <component>_ready until it succeeds,
# failing early if the process died.
wait_ready() {
  local c=$1 timeout=$2 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if "${c}_ready" >/dev/null 2>&1; then return 0; fi
    if [[ -f $(pidfile "$c") ]] && ! is_running "$c"; then
      log "$c exited during start"
      return 1
    fi
    sleep 0.3
  done
  log "$c not ready after ${timeout}s"
  return 1
}

# maven_fetch_tree <groupId:artifactId:version[:packaging[:classifier]]> <dest-dir> [transitive=true]:
# the artifact and its runtime dependencies, copied as jars into <dest-dir>.
maven_fetch_tree() {
  local gav=$1 dest=$2 transitive=${3:-true}
  local work g a v _p cl excl=''; work=$(mktemp -d)
  IFS=: read -r g a v _p cl <<<"$gav"
  [[ $transitive == true ]] || excl='<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>'
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.scalewise.stack</groupId><artifactId>fetch</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version>${cl:+<classifier>$cl</classifier>}$excl</dependency>
    ${MAVEN_EXTRA_DEPS:-}
  </dependencies>
</project>
POM
  mkdir -p "$dest"
  if ! mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dest" >"$work/mvn.log" 2>&1; then
    tail -n 30 "$work/mvn.log" >&2
    rm -rf "$work"
    return 1
  fi
  rm -rf "$work"
}

# need_cmd <cmd> <debian-package>: install the Debian package when the command is missing.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing Debian package $2 (for $1)"
  if [[ ! -f $SCALEWISE_HOME/.apt-updated ]] || [[ -n $(find "$SCALEWISE_HOME/.apt-updated" -mmin +1440 2>/dev/null) ]]; then
    mkdir -p "$SCALEWISE_HOME"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed (needed for $2)"
    touch "$SCALEWISE_HOME/.apt-updated"
  fi
  # Debian packages of servers start them on install; the stack starts its own, so forbid that.
  local policy=/usr/sbin/policy-rc.d made_policy=''
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1; fi
  local apt_log; apt_log=$(mktemp)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >"$apt_log" 2>&1
  local rc=$?
  ((rc == 0)) || tail -n 20 "$apt_log" >&2
  rm -f "$apt_log"
  [[ -n $made_policy ]] && rm -f "$policy"
  ((rc == 0)) || die "could not install Debian package $2 (needed for $1)"
}
