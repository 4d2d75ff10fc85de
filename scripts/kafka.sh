#!/usr/bin/env bash
# A single-node Apache Kafka 4.x broker (KRaft, combined broker+controller) on 127.0.0.1, for tests.
#   scripts/kafka.sh start   downloads the jars once (Maven Central, cached in .kafka/lib), formats a
#                            fresh data dir, starts the broker on free ports and prints its bootstrap
#                            address (also written to .kafka/run/bootstrap)
#   scripts/kafka.sh stop    stops the broker this script started (by its PID) and removes its data
# Needs java ≥ 17 and mvn. KAFKA_HOME_DIR overrides the .kafka folder (git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CONF="$ROOT/scripts/kafka"
KHOME="${KAFKA_HOME_DIR:-$ROOT/.kafka}"
LIB="$KHOME/lib"
RUN="$KHOME/run"
KAFKA_VERSION=4.1.2

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

fetch_jars() {
  local stamp="$LIB/.pom.sha256" sum
  sum="$(sha256sum "$CONF/pom.xml" | cut -d' ' -f1)"
  if [ -f "$LIB/kafka_2.13-$KAFKA_VERSION.jar" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then return; fi
  rm -rf "$LIB"; mkdir -p "$LIB"
  mvn -q -B -ntp -f "$CONF/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB" >&2
  echo "$sum" > "$stamp"
}

start() {
  if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then cat "$RUN/bootstrap"; return; fi
  fetch_jars
  rm -rf "$RUN"; mkdir -p "$RUN"
  local dir port cport cluster_id pid deadline
  dir="$(mktemp -d -t kafka-ci-XXXXXX)"
  mkdir -p "$dir/data" "$dir/logs"
  # Free ports are picked before formatting: the format records the controller endpoint.
  port="$(free_port)"; cport="$(free_port)"
  while [ "$cport" = "$port" ]; do cport="$(free_port)"; done
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  # 16 random bytes, base64url: a valid cluster id without a JVM start; never starting with '-'.
  cluster_id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  case "$cluster_id" in -*) cluster_id="A${cluster_id#?}" ;; esac
  java -XX:TieredStopAtLevel=1 -Djava.io.tmpdir="$dir" -Dlog4j2.configurationFile="$CONF/tools-log4j2.yaml" \
    -cp "$LIB/*" kafka.tools.StorageTool format --standalone \
    --cluster-id "$cluster_id" --config "$dir/server.properties" > "$dir/logs/format.out"
  nohup java -Xms256m -Xmx512m -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Djava.io.tmpdir="$dir" -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$CONF/log4j2.yaml" \
    -cp "$LIB/*" kafka.Kafka "$dir/server.properties" > "$dir/logs/kafka.out" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$RUN/pid"; echo "$dir" > "$RUN/dir"
  # The broker port opens only once the broker is ready (Kafka's SocketServer does that on purpose).
  deadline=$((SECONDS + 90))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "kafka exited during start" >&2; tail -n 40 "$dir/logs/kafka.out" >&2; exit 1; fi
    if [ "$SECONDS" -ge "$deadline" ]; then echo "kafka start timed out" >&2; tail -n 40 "$dir/logs/kafka.out" >&2; stop; exit 1; fi
    sleep 0.2
  done
  echo "127.0.0.1:$port" > "$RUN/bootstrap"
  echo "127.0.0.1:$port"
}

stop() {
  [ -f "$RUN/pid" ] || return 0
  local pid dir
  pid="$(cat "$RUN/pid")"; dir="$(cat "$RUN/dir" 2>/dev/null || true)"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  [ -n "$dir" ] && rm -rf "$dir"
  rm -rf "$RUN"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 1 ;;
esac
