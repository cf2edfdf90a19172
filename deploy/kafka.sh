#!/usr/bin/env bash
# Apache Kafka 4.x, KRaft, single node on 127.0.0.1, jars from Maven Central.
# usage: deploy/kafka.sh install|start|stop|status|topics
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KAFKA_HOME="$TWINRCA_CACHE/kafka/$KAFKA_VERSION"
KAFKA_DATA="$TWINRCA_RUN/kafka-data"
KAFKA_PID="$TWINRCA_RUN/kafka.pid"
KAFKA_LOG="$TWINRCA_RUN/kafka.log"

install() {
  [[ -f "$KAFKA_HOME/.complete" ]] && return 0
  command -v mvn >/dev/null || apt_install_host maven
  command -v java >/dev/null || apt_install_host openjdk-17-jre-headless
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_HOME"
  mkdir -p "$KAFKA_HOME/libs"
  mvn -q -B -f "$DEPLOY_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_HOME/libs" -DincludeScope=runtime
  touch "$KAFKA_HOME/.complete"
}

write_config() {
  cat > "$TWINRCA_RUN/kafka-server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
PROPS
}

java_cmd() {
  java -Xms256m -Xmx768m -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" "$@"
}

running() { [[ -f "$KAFKA_PID" ]] && kill -0 "$(cat "$KAFKA_PID")" 2>/dev/null; }

start() {
  install
  if running; then log "kafka already running (pid $(cat "$KAFKA_PID"))"; return 0; fi
  write_config
  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    mkdir -p "$KAFKA_DATA"
    java_cmd kafka.tools.StorageTool format \
      -t "$(java_cmd kafka.tools.StorageTool random-uuid)" \
      -c "$TWINRCA_RUN/kafka-server.properties" >/dev/null
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  nohup bash -c "exec java -Xms256m -Xmx768m -XX:+UseG1GC \
    -Dlog4j2.configurationFile='$DEPLOY_DIR/kafka/log4j2.properties' \
    -cp '$KAFKA_HOME/libs/*' kafka.Kafka '$TWINRCA_RUN/kafka-server.properties'" \
    >"$KAFKA_LOG" 2>&1 &
  echo $! > "$KAFKA_PID"
  WAIT_SECONDS=90 wait_for port_open "$KAFKA_PORT" || { tail -30 "$KAFKA_LOG" >&2; die "Kafka did not open port $KAFKA_PORT"; }
  log "kafka ready"
}

stop() {
  if running; then
    local pid; pid=$(cat "$KAFKA_PID")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "kafka stopped"
  fi
  rm -f "$KAFKA_PID"
}

wipe() { stop; rm -rf "$KAFKA_DATA"; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  wipe) wipe ;;
  status) if running; then echo "kafka running on 127.0.0.1:$KAFKA_PORT"; else echo "kafka stopped"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|wipe|status" >&2; exit 2 ;;
esac
