#!/bin/sh
# kafka-run-class.sh <main class> [args]: as upstream, with a small heap for the tools.
# shellcheck disable=SC2086 # the options are words
exec java ${KAFKA_HEAP_OPTS:--Xmx128m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dlog4j.configuration="file:${KAFKA_LOG4J_CONFIG:-/opt/kafka/config/tools-log4j.properties}" \
  -cp '/opt/kafka/libs/*' "$@"
