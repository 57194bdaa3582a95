# shellcheck shell=bash
# Apache Kafka in KRaft mode (one combined broker + controller) from its Maven Central jars.
#
# One node of a cluster of several (packages/bus test-support, startPrivateKafka({ brokers })):
# each in a run directory of its own, with SCALEWISE_KAFKA_NODE_ID, the cluster's
# SCALEWISE_KAFKA_QUORUM_VOTERS (id@host:controller-port,...) and SCALEWISE_KAFKA_CLUSTER_ID,
# and SCALEWISE_KAFKA_REPLICATION / SCALEWISE_KAFKA_MIN_ISR for the topics' defaults and the
# internal topics. SCALEWISE_KAFKA_PROPERTIES: extra server.properties lines (they win).
#
# Secure mode (docs/security.md, "Transport"), SCALEWISE_KAFKA_SECURE:
#   1     a SASL_SSL listener on SCALEWISE_KAFKA_SECURE_PORT (default 9094) besides the plaintext
#         one, which stays open to the loopback tooling of the dev stack (its principal,
#         User:ANONYMOUS, is a super user);
#   only  the SASL_SSL listener alone (brokers of tests); the broker reaches itself over it.
# Both: SCRAM-SHA-512 users created at format time (`StorageTool format --add-scram`): `admin`
# (super user, the inter-broker principal) and SCALEWISE_KAFKA_USERS, passwords generated into
# <run dir>/kafka/users/<name>.password; the certificate of tls.sh; the StandardAuthorizer with
# the ACLs of packages/bus/src/access.ts applied after start (`scalewise-bus acls --apply`) for
# SCALEWISE_KAFKA_ACL_TOPIC_PREFIX and SCALEWISE_KAFKA_ACL_GROUP_PREFIX (default `scalewise.`);
# a controller listener on TLS that requires the broker's own certificate (mutual TLS).
KAFKA_VERSION=${SCALEWISE_KAFKA_VERSION:-3.9.2}
KAFKA_PORT=${SCALEWISE_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${SCALEWISE_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${SCALEWISE_KAFKA_HEAP:-512m}
KAFKA_NODE_ID=${SCALEWISE_KAFKA_NODE_ID:-1}
KAFKA_QUORUM_VOTERS=${SCALEWISE_KAFKA_QUORUM_VOTERS:-$KAFKA_NODE_ID@127.0.0.1:$KAFKA_CONTROLLER_PORT}
KAFKA_REPLICATION=${SCALEWISE_KAFKA_REPLICATION:-1}
KAFKA_MIN_ISR=${SCALEWISE_KAFKA_MIN_ISR:-1}
KAFKA_SECURE_PORT=${SCALEWISE_KAFKA_SECURE_PORT:-9094}
KAFKA_USERS=${SCALEWISE_KAFKA_USERS:-scalewise-metrics-listener scalewise-decision-engine scalewise-node-manager scalewise-min-enforcer scalewise-state-sync scalewise-alert-manager scalewise-cli}
_kafka_home=$SCALEWISE_CACHE/kafka-$KAFKA_VERSION
# shellcheck source=tls.sh
source "$(dirname "${BASH_SOURCE[0]}")/tls.sh"

KAFKA_SECURE=$(tls_mode SCALEWISE_KAFKA_SECURE) || exit 1
# The broker's TLS identity; its principal on the controller listener, a super user.
_kafka_cn=scalewise-kafka-broker
_kafka_users_dir() { echo "$(rundir kafka)/users"; }
_kafka_password() { cat "$(_kafka_users_dir)/$1.password"; }

kafka_ports() {
  tls_mode_ports "$KAFKA_SECURE" "$KAFKA_PORT" SCALEWISE_KAFKA_PORT "$KAFKA_SECURE_PORT" SCALEWISE_KAFKA_SECURE_PORT
  echo "$KAFKA_CONTROLLER_PORT SCALEWISE_KAFKA_CONTROLLER_PORT"
}
kafka_describe() {
  echo "Kafka $KAFKA_VERSION (KRaft) on $(tls_mode_listeners "$KAFKA_SECURE" "127.0.0.1:$KAFKA_PORT" "SASL_SSL 127.0.0.1:$KAFKA_SECURE_PORT")"
}
# Secure mode: the secure listener's clients pick their user from SCALEWISE_KAFKA_USERS_DIR
# (KAFKA_USERNAME=<name> KAFKA_PASSWORD_FILE=<dir>/<name>.password). With `only` the client
# variables of the configuration are printed; with 1 names of their own, so that the plaintext
# KAFKA_BROKERS of the other tooling keeps working.
kafka_env() {
  if [[ $KAFKA_SECURE == only ]]; then
    echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_SECURE_PORT"
    echo "KAFKA_SECURITY_PROTOCOL=SASL_SSL"
    echo "KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
    echo "KAFKA_SSL_CA_FILE=$(tls_ca_file)"
  else
    echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  fi
  if [[ $KAFKA_SECURE == 1 ]]; then
    echo "SCALEWISE_KAFKA_SECURE_BROKERS=127.0.0.1:$KAFKA_SECURE_PORT"
    echo "SCALEWISE_KAFKA_CA_FILE=$(tls_ca_file)"
  fi
  [[ -z $KAFKA_SECURE ]] || echo "SCALEWISE_KAFKA_USERS_DIR=$(_kafka_users_dir)"
}

kafka_mode() { echo "$KAFKA_SECURE"; }

kafka_install() {
  need_cmd java default-jre-headless
  need_cmd kcat kcat
  need_cmd openssl openssl
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
  local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT"
  local security=$'inter.broker.listener.name=PLAINTEXT\nlistener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT'
  if [[ -n $KAFKA_SECURE ]]; then
    _kafka_secure_setup || return 1
    security=$(_kafka_secure_properties)
    listeners="SASL_SSL://127.0.0.1:$KAFKA_SECURE_PORT"
    [[ $KAFKA_SECURE == only ]] || listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT,$listeners"
  fi
  # umask: the secure mode's properties hold the inter-broker password.
  (umask 077 && cat >"$dir/server.properties") <<PROPS
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_QUORUM_VOTERS
listeners=$listeners,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
$security
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
    # A random UUID as Kafka prints one (URL-safe base64, no leading '-'), without a JVM start.
    while [[ -z $cid || $cid == -* ]]; do
      cid=$(openssl rand 16 | base64 | tr '+/' '-_' | tr -d '=\n') || die "kafka: could not generate a cluster id"
    done
    local scram=()
    [[ -z $KAFKA_SECURE ]] || mapfile -t scram < <(_kafka_scram_args)
    _kafka_java kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" "${scram[@]}" >"$dir/format.log" 2>&1 ||
      { tail -n 20 "$dir/format.log" >&2; die "kafka: formatting storage in $data failed"; }
    [[ -z $KAFKA_SECURE ]] || printf '%s\n' admin $KAFKA_USERS >"$data/.scram-users"
  elif [[ -n $KAFKA_SECURE && ! -f $data/.scram-users ]]; then
    die "kafka: $data was formatted without SCRAM users, which secure mode creates at format time: 'scripts/stack reset kafka' (every topic goes), or add them to the running broker (docs/security.md, "Transport")"
  fi
  _kafka_java_cmd kafka.Kafka "$dir/server.properties"
  start_bg kafka "${_kafka_cmd[@]}"
}

# Ready: this broker answers metadata that lists itself (registered and unfenced); in secure
# mode on the SASL_SSL listener too, as admin over TLS with the stack's CA.
kafka_ready() {
  local lists="\"brokers\":\\[.*{\"id\":$KAFKA_NODE_ID,"
  if [[ $KAFKA_SECURE != only ]]; then
    kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 2 -J 2>/dev/null | grep "$lists" >/dev/null || return 1
  fi
  [[ -z $KAFKA_SECURE ]] && return 0
  kcat -F "$(_kafka_users_dir)/kcat-admin.conf" -b "127.0.0.1:$KAFKA_SECURE_PORT" -L -m 2 -J 2>/dev/null |
    grep -q "$lists"
}

# Secure mode: the ACLs of every Scalewise principal, applied by the admin over TLS (idempotent).
kafka_configure() {
  [[ -n $KAFKA_SECURE ]] || return 0
  local repo_root; repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  command -v node >/dev/null && [[ -d $repo_root/packages/bus/node_modules/kafkajs ]] ||
    die "kafka: secure mode applies its ACLs with node and the workspace's packages: run pnpm install (in the scripts/bootstrap environment) first"
  KAFKA_BROKERS=127.0.0.1:$KAFKA_SECURE_PORT KAFKA_SECURITY_PROTOCOL=SASL_SSL KAFKA_SASL_MECHANISM=SCRAM-SHA-512 \
    KAFKA_USERNAME=admin KAFKA_PASSWORD_FILE="$(_kafka_users_dir)/admin.password" KAFKA_SSL_CA_FILE="$(tls_ca_file)" \
    node "$repo_root/packages/bus/src/cli.ts" acls --apply \
    --topic-prefix "${SCALEWISE_KAFKA_ACL_TOPIC_PREFIX:-scalewise.}" \
    --group-prefix "${SCALEWISE_KAFKA_ACL_GROUP_PREFIX:-scalewise.}" >"$(rundir kafka)/acls.log" 2>&1 ||
    { tail -n 20 "$(rundir kafka)/acls.log" >&2; die "kafka: applying the ACLs failed"; }
  log "kafka: the ACLs of the Scalewise users applied (as $(rundir kafka)/acls.log says)"
}

# Secure mode: a password for every user (kept once made: they are in the formatted storage)
# and the broker's certificate.
_kafka_secure_setup() {
  local dir u; dir=$(_kafka_users_dir)
  mkdir -p "$dir" && chmod 700 "$dir"
  for u in admin $KAFKA_USERS; do
    [[ $u =~ ^[A-Za-z0-9._-]+$ ]] || die "kafka: user name '$u' (SCALEWISE_KAFKA_USERS): letters, digits, '.', '_' and '-' only"
    [[ -s $dir/$u.password ]] || (umask 077 && openssl rand -hex 24 >"$dir/$u.password")
  done
  tls_server_cert kafka "$_kafka_cn"
  # The readiness probe's client settings: in a file, not on kcat's command line.
  (umask 077 && printf '%s\n' security.protocol=SASL_SSL sasl.mechanisms=SCRAM-SHA-512 sasl.username=admin \
    "sasl.password=$(_kafka_password admin)" "ssl.ca.location=$(tls_ca_file)" >"$dir/kcat-admin.conf")
}

# `--add-scram` arguments of StorageTool format: one SCRAM-SHA-512 credential per user.
_kafka_scram_args() {
  local u
  for u in admin $KAFKA_USERS; do
    printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$u,password=$(_kafka_password "$u")]"
  done
}

_kafka_secure_properties() {
  local tls=$TLS_DIR super="User:admin;User:CN=$_kafka_cn"
  [[ $KAFKA_SECURE == only ]] || super+=";User:ANONYMOUS"
  cat <<PROPS
inter.broker.listener.name=$(if [[ $KAFKA_SECURE == only ]]; then echo SASL_SSL; else echo PLAINTEXT; fi)
listener.security.protocol.map=CONTROLLER:SSL,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(_kafka_password admin)";
ssl.keystore.type=PEM
ssl.keystore.location=$tls/kafka-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$super
PROPS
}

kafka_stop() { stop_pid kafka 30; }

# Drops every topic and committed offset: the data directory goes, the next start formats anew.
kafka_reset() { rm -rf "$(datadir kafka)"; }
