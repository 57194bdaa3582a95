#!/bin/sh
# kafka-server-start.sh <server.properties>
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m} KAFKA_LOG4J_CONFIG=/opt/kafka/config/log4j.properties \
  exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$@"
