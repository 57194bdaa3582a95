# shellcheck shell=bash
# Apache Kafka in KRaft mode (one combined broker + controller) from its Maven Central jars.
#
# One node of a cluster of several (packages/bus test-support, startPrivateKafka({ brokers })):
# each in a run directory of its own, with SCALEWISE_KAFKA_NODE_ID, the cluster's
# SCALEWISE_KAFKA_QUORUM_VOTERS (id@host:controller-port,...) and SCALEWISE_KAFKA_CLUSTER_ID,
# and SCALEWISE_KAFKA_REPLICATION / SCALEWISE_KAFKA_MIN_ISR for the topics' defaults and the
# internal topics. SCALEWISE_KAFKA_PROPERTIES: extra server.properties lines (they win).
KAFKA_VERSION=${SCALEWISE_KAFKA_VERSION:-3.9.2}
KAFKA_PORT=${SCALEWISE_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${SCALEWISE_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${SCALEWISE_KAFKA_HEAP:-512m}
KAFKA_NODE_ID=${SCALEWISE_KAFKA_NODE_ID:-1}
KAFKA_QUORUM_VOTERS=${SCALEWISE_KAFKA_QUORUM_VOTERS:-$KAFKA_NODE_ID@127.0.0.1:$KAFKA_CONTROLLER_PORT}
KAFKA_REPLICATION=${SCALEWISE_KAFKA_REPLICATION:-1}
KAFKA_MIN_ISR=${SCALEWISE_KAFKA_MIN_ISR:-1}
_kafka_home=$SCALEWISE_CACHE/kafka-$KAFKA_VERSION

kafka_ports() {
  echo "$KAFKA_PORT SCALEWISE_KAFKA_PORT"
  echo "$KAFKA_CONTROLLER_PORT SCALEWISE_KAFKA_CONTROLLER_PORT"
}
kafka_describe() { echo "Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT"; }
kafka_env() { echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"; }

kafka_install() {
  need_cmd java default-jre-headless
  need_cmd kcat kcat
  [[ -f $_kafka_home/.complete ]] && return 0
  need_cmd mvn maven
  log "fetching Kafka $KAFKA_VERSION and its dependencies from Maven Central"
  rm -rf "$_kafka_home" && mkdir -p "$_kafka_home"
  MAVEN_EXTRA_DEPS='<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>' \
    maven_fetch_tree "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "$_kafka_home/libs" ||
    die "kafka: could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"
  touch "$_kafka_home/.complete"
}

# The JVM command line, as an array so that start_bg (setsid) can run it.
_kafka_java_cmd() {
  _kafka_cmd=(java -Xms128m "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$(rundir kafka)/log4j.properties" \
    -cp "$_kafka_home/libs/*" "$@")
}
_kafka_java() { _kafka_java_cmd "$@"; "${_kafka_cmd[@]}"; }

kafka_start() {
  local dir data; dir=$(rundir kafka); data=$(datadir kafka)
  if [[ ${SCALEWISE_KAFKA_FRESH:-} == 1 && -d $data ]]; then
    log "kafka: starting on fresh storage (SCALEWISE_KAFKA_FRESH=1); the previous topics are gone"
    rm -rf "$data"
  fi
  mkdir -p "$data"
  # Every partition is a directory the broker opens and checks before it serves; tens of
  # thousands of them (topics left by earlier test runs) keep a 2-core broker from becoming
  # ready within the start timeout.
  local parts; parts=$(find "$data" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' 2>/dev/null | wc -l)
  if ((parts > ${SCALEWISE_KAFKA_WARN_PARTITIONS:-3000})); then
    log "kafka: $data holds $parts partitions; loading them slows the start. 'scripts/stack reset kafka' starts empty"
  fi
  cat >"$dir/log4j.properties" <<PROPS
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
log4j.logger.kafka.log.LogManager=INFO
PROPS
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_QUORUM_VOTERS
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=$KAFKA_REPLICATION
min.insync.replicas=$KAFKA_MIN_ISR
offsets.topic.replication.factor=$KAFKA_REPLICATION
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$KAFKA_REPLICATION
transaction.state.log.min.isr=$KAFKA_MIN_ISR
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
log.retention.hours=168
${SCALEWISE_KAFKA_PROPERTIES:-}
PROPS
  if [[ ! -f $data/meta.properties ]]; then
    local cid=${SCALEWISE_KAFKA_CLUSTER_ID:-}
    [[ -n $cid ]] || cid=$(_kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    [[ -n $cid ]] || die "kafka: could not generate a cluster id (java -cp $_kafka_home/libs/*)"
    _kafka_java kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
      { tail -n 20 "$dir/format.log" >&2; die "kafka: formatting storage in $data failed"; }
  fi
  _kafka_java_cmd kafka.Kafka "$dir/server.properties"
  start_bg kafka "${_kafka_cmd[@]}"
}

# Ready: this broker answers metadata that lists itself (registered and unfenced).
kafka_ready() {
  kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 2 -J 2>/dev/null | grep -q "\"brokers\":\\[.*{\"id\":$KAFKA_NODE_ID,"
}

kafka_stop() { stop_pid kafka 30; }

# Drops every topic and committed offset: the data directory goes, the next start formats anew.
kafka_reset() { rm -rf "$(datadir kafka)"; }
