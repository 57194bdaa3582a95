#!/bin/sh
# As the upstream image's entrypoint: without a config file, redis-server listens on every
# interface with protected mode off (the container network is the boundary).
set -e
if [ "$1" = redis-server ]; then
  shift
  set -- redis-server --protected-mode no --bind '* -::*' "$@"
fi
exec "$@"
