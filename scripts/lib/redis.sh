# shellcheck shell=bash
# Redis from Debian's package; an already running Redis on the port is used as it is.
REDIS_PORT=${SCALEWISE_REDIS_PORT:-6379}

redis_ports() { echo "$REDIS_PORT SCALEWISE_REDIS_PORT"; }
redis_describe() { echo "Redis $(redis-server --version 2>/dev/null | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$REDIS_PORT"; }
redis_env() { echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"; }

redis_install() {
  need_cmd redis-server redis-server
  need_cmd redis-cli redis-tools
}

# A Redis that answers PING on the port but was not started by us is accepted (the issue's
# "or an already running one on the configured port").
redis_foreign_ok() { redis_ready; }

# SCALEWISE_REDIS_APPENDONLY=yes keeps the data across a restart (the append-only file, as
# docker-compose.yml runs it); the shared stack runs without persistence.
redis_start() {
  local data; data=$(datadir redis); mkdir -p "$data"
  start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$data" \
    --save "" --appendonly "${SCALEWISE_REDIS_APPENDONLY:-no}" --protected-mode yes \
    --daemonize no --loglevel notice
}

redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
redis_stop() { stop_pid redis 10; }
