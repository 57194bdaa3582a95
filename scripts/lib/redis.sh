# shellcheck shell=bash
# Redis from Debian's package; an already running Redis on the port is used as it is.
#
# Secure mode (docs/security.md, "Transport"), SCALEWISE_REDIS_SECURE:
#   1     a TLS port (SCALEWISE_REDIS_TLS_PORT, default 6380) besides the plaintext one; the
#         default user stays open to the loopback tooling of the dev stack
#   only  the TLS port alone, the default user off (private servers of tests)
# Both: the certificate of tls.sh, and an ACL user SCALEWISE_REDIS_USER (default scalewise) with
# every right and a generated password in <run dir>/redis/users/<user>.password.
REDIS_PORT=${SCALEWISE_REDIS_PORT:-6379}
REDIS_TLS_PORT=${SCALEWISE_REDIS_TLS_PORT:-6380}
REDIS_USER=${SCALEWISE_REDIS_USER:-scalewise}
# shellcheck source=tls.sh
source "$(dirname "${BASH_SOURCE[0]}")/tls.sh"

REDIS_SECURE=$(tls_mode SCALEWISE_REDIS_SECURE) || exit 1
_redis_password_file() { echo "$(rundir redis)/users/$REDIS_USER.password"; }

redis_ports() {
  tls_mode_ports "$REDIS_SECURE" "$REDIS_PORT" SCALEWISE_REDIS_PORT "$REDIS_TLS_PORT" SCALEWISE_REDIS_TLS_PORT
}
redis_describe() {
  local on; on=$(tls_mode_listeners "$REDIS_SECURE" "127.0.0.1:$REDIS_PORT" "TLS 127.0.0.1:$REDIS_TLS_PORT")
  echo "Redis $(redis-server --version 2>/dev/null | sed -n 's/.*v=\([^ ]*\).*/\1/p') on $on"
}
redis_env() {
  if [[ $REDIS_SECURE == only ]]; then
    echo "REDIS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT"
    echo "REDIS_USERNAME=$REDIS_USER"
    echo "REDIS_PASSWORD_FILE=$(_redis_password_file)"
    echo "REDIS_CA_FILE=$(tls_ca_file)"
    return
  fi
  echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  if [[ $REDIS_SECURE == 1 ]]; then
    echo "SCALEWISE_REDIS_TLS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT"
    echo "SCALEWISE_REDIS_USERNAME=$REDIS_USER"
    echo "SCALEWISE_REDIS_PASSWORD_FILE=$(_redis_password_file)"
    echo "SCALEWISE_REDIS_CA_FILE=$(tls_ca_file)"
  fi
}

redis_mode() { echo "$REDIS_SECURE"; }

redis_install() {
  need_cmd redis-server redis-server
  need_cmd redis-cli redis-tools
  # grep reads to the end (no -q): with pipefail, a grep -q that stops at its match leaves the
  # writer a SIGPIPE that fails the pipeline, and a Redis with TLS passed for one without.
  if [[ -n $REDIS_SECURE ]] && ! redis-server --help 2>&1 | grep -- --tls-port >/dev/null &&
    ! ldd "$(command -v redis-server)" 2>/dev/null | grep libssl >/dev/null; then
    die "redis: this redis-server was built without TLS; secure mode needs Debian's (apt-get install redis-server)"
  fi
}

# A Redis that answers PING on the port but was not started by us is accepted (the issue's
# "or an already running one on the configured port").
redis_foreign_ok() { [[ -z $REDIS_SECURE ]] && redis_ready; }

# SCALEWISE_REDIS_APPENDONLY=yes keeps the data across a restart (the append-only file, as
# docker-compose.yml runs it); the shared stack runs without persistence.
redis_start() {
  local dir data; dir=$(rundir redis); data=$(datadir redis); mkdir -p "$data"
  local conf=$dir/redis.conf
  (
    umask 077
    printf '%s\n' "bind 127.0.0.1" "dir $data" 'save ""' "appendonly ${SCALEWISE_REDIS_APPENDONLY:-no}" \
      "protected-mode yes" "daemonize no" "loglevel notice" >"$conf"
    if [[ -z $REDIS_SECURE ]]; then
      echo "port $REDIS_PORT" >>"$conf"
    else
      mkdir -p "$dir/users"
      [[ -s $(_redis_password_file) ]] || openssl rand -hex 24 >"$(_redis_password_file)"
      tls_server_cert redis localhost
      printf '%s\n' "port $(if [[ $REDIS_SECURE == only ]]; then echo 0; else echo "$REDIS_PORT"; fi)" \
        "tls-port $REDIS_TLS_PORT" "tls-cert-file $TLS_DIR/redis.pem" "tls-key-file $TLS_DIR/redis.key" \
        "tls-ca-cert-file $TLS_DIR/ca.pem" "tls-auth-clients no" \
        "user $REDIS_USER on >$(cat "$(_redis_password_file)") ~* &* +@all" >>"$conf"
      [[ $REDIS_SECURE == only ]] && echo "user default off" >>"$conf"
    fi
  )
  start_bg redis redis-server "$conf"
}

redis_ready() {
  if [[ $REDIS_SECURE != only ]]; then
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] || return 1
  fi
  [[ -z $REDIS_SECURE ]] && return 0
  [[ $(REDISCLI_AUTH=$(cat "$(_redis_password_file)" 2>/dev/null) redis-cli --tls --cacert "$(tls_ca_file)" \
    --user "$REDIS_USER" -h 127.0.0.1 -p "$REDIS_TLS_PORT" ping 2>/dev/null) == PONG ]]
}
redis_stop() { stop_pid redis 10; }
