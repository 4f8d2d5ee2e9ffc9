# shellcheck shell=bash disable=SC2034 # variables are used by the scripts that source this file
# Shared by infra/local/up, down and status: configuration, service identity, readiness checks.
# Sourced, never run. Every path and port comes from here so the three scripts cannot disagree.

SLUICE_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
SLUICE_ROOT="$(cd "$SLUICE_INFRA_DIR/../.." && pwd -P)"

# Normalized, because the services are recognized by this path on their command lines.
LOCAL_DIR="$(realpath -m "${SLUICE_LOCAL_DIR:-$SLUICE_ROOT/.local}")"
RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/logs"
DATA_DIR="$LOCAL_DIR/data"
JARS_DIR="$LOCAL_DIR/jars"
CDS_DIR="$LOCAL_DIR/cds"

REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
HDFS_NAMENODE_RPC_PORT="${HDFS_NAMENODE_RPC_PORT:-8020}"
WEBHDFS_PORT="${WEBHDFS_PORT:-9870}"
HDFS_DATANODE_HTTP_PORT="${HDFS_DATANODE_HTTP_PORT:-9864}"
HDFS_DATANODE_PORT="${HDFS_DATANODE_PORT:-9866}"
HDFS_DATANODE_IPC_PORT="${HDFS_DATANODE_IPC_PORT:-9867}"

# Fixed heaps: the machines have 2 cores and are shared with the Node workers under test, so the
# JVMs must not grow with the host's memory. Xms = Xmx keeps the heap from being resized under load.
KAFKA_HEAP="${KAFKA_HEAP:--Xms512m -Xmx512m}"
HDFS_NAMENODE_HEAP="${HDFS_NAMENODE_HEAP:--Xms256m -Xmx256m}"
HDFS_DATANODE_HEAP="${HDFS_DATANODE_HEAP:--Xms256m -Xmx256m}"
# C1 only starts Kafka in ~3.7 s instead of ~6.2 s and leaves the second core to the tests; a
# benchmark of broker throughput can set SLUICE_JVM_OPTS=-XX:+UseSerialGC to get C2 back.
SLUICE_JVM_OPTS="${SLUICE_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"

# Class-data sharing for Kafka: its first run writes an archive of the classes it loaded when `down`
# stops it, later runs map it and answer in ~2.1 s instead of ~3.6 s. 0 turns it off.
SLUICE_JVM_CDS="${SLUICE_JVM_CDS:-1}"

SLUICE_LOCAL_TIMEOUT="${SLUICE_LOCAL_TIMEOUT:-120}"
SLUICE_STOP_TIMEOUT="${SLUICE_STOP_TIMEOUT:-30}"

ALL_SERVICES=(redis kafka namenode datanode)

die() { echo "error: $*" >&2; exit 1; }

# Paths are printed relative to the repository when they are inside it: shorter, and the same on
# every machine.
rel() { case "$1" in "$SLUICE_ROOT"/*) echo "${1#"$SLUICE_ROOT"/}" ;; *) echo "$1" ;; esac; }

now_us() { local t="$EPOCHREALTIME"; echo "${t/./}"; }
# Seconds since a now_us value, with one decimal.
since() { local d=$(( ($(now_us) - $1) / 100000 )); echo "$((d / 10)).$((d % 10))s"; }

# Sets SERVICES to the services named by the arguments, in start order: `hdfs` stands for both of
# its daemons, no argument (or `all`) for every service.
resolve_services() {
  local s wanted=" "
  [ $# -eq 0 ] && set -- all
  for s in "$@"; do
    case "$s" in
      all) wanted+="${ALL_SERVICES[*]} " ;;
      hdfs) wanted+="namenode datanode " ;;
      redis | kafka | namenode | datanode) wanted+="$s " ;;
      *) die "unknown service '$s' (known: redis kafka hdfs namenode datanode)" ;;
    esac
  done
  SERVICES=()
  for s in "${ALL_SERVICES[@]}"; do
    [[ "$wanted" == *" $s "* ]] && SERVICES+=("$s")
  done
  return 0
}

log_file() { echo "$LOG_DIR/$1.log"; }
pid_file() { echo "$RUN_DIR/$1.pid"; }

# "PORT ENV_VAR" lines: what each service listens on, and the variable that moves it.
service_ports() {
  case "$1" in
    redis) echo "$REDIS_PORT REDIS_PORT" ;;
    kafka) printf '%s\n' "$KAFKA_PORT KAFKA_PORT" "$KAFKA_CONTROLLER_PORT KAFKA_CONTROLLER_PORT" ;;
    namenode) printf '%s\n' "$HDFS_NAMENODE_RPC_PORT HDFS_NAMENODE_RPC_PORT" "$WEBHDFS_PORT WEBHDFS_PORT" ;;
    datanode)
      printf '%s\n' "$HDFS_DATANODE_PORT HDFS_DATANODE_PORT" "$HDFS_DATANODE_HTTP_PORT HDFS_DATANODE_HTTP_PORT" \
        "$HDFS_DATANODE_IPC_PORT HDFS_DATANODE_IPC_PORT"
      ;;
  esac
}

# Whether a process is this checkout's instance of a service. Pids are reused, and several
# checkouts may run their own stacks on other ports, so a live pid alone proves nothing.
is_ours() {
  local pid="$1" svc="$2" comm="" cmdline args=() cwd
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  # Builtins only: this runs for every process on the machine when a pidfile is missing.
  read -r comm <"/proc/$pid/comm" 2>/dev/null || return 1
  case "$svc:$comm" in redis:redis-server | kafka:java | namenode:java | datanode:java) ;; *) return 1 ;; esac
  mapfile -d '' args <"/proc/$pid/cmdline" 2>/dev/null || return 1
  cmdline=" ${args[*]} "
  case "$svc" in
    # Redis rewrites its command line; its working directory is the `dir` it was given.
    redis)
      cwd="$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" || return 1
      [[ -n "$cwd" && "$cwd" == "$(readlink -f "$DATA_DIR/redis" 2>/dev/null)" ]]
      ;;
    *) [[ "$cmdline" == *" -Dsluice.service=$svc "* && "$cmdline" == *" -Dsluice.local.dir=$LOCAL_DIR "* ]] ;;
  esac
}

# The pid of the running service, from its pidfile or, when that is missing or stale, by looking
# for it among all processes. Prints nothing and fails when it is not running.
service_pid() {
  local svc="$1" pid="" f p
  f="$(pid_file "$svc")"
  [ -f "$f" ] && pid="$(cat "$f" 2>/dev/null || true)"
  if is_ours "$pid" "$svc"; then echo "$pid"; return 0; fi
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    if is_ours "$p" "$svc"; then echo "$p"; return 0; fi
  done
  return 1
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Who holds a port, for the error message; empty when `ss` is not installed or cannot tell.
port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 |
    sed -E 's/users:\(\("([^"]*)",pid=([0-9]*)/\1 (pid \2)/' || true
}

# Kafka answers once the broker serves requests, not when its port opens: the acceptors bind early
# and only start reading after the broker has caught up with the metadata log. So send a real
# ApiVersions v0 request (correlation id 0x534c, client id "sluice") and wait for its answer.
kafka_answers() {
  local reply
  reply="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x00\x00\x00\x10\x00\x12\x00\x00\x00\x00\x53\x4c\x00\x06sluice" >&3
    head -c 8 <&3 | od -An -tx1' _ "$KAFKA_PORT" 2>/dev/null | tr -d ' \n')" || return 1
  [ "${reply:8:8}" = 0000534c ]
}

nn_jmx() { curl -sf --max-time 3 "http://127.0.0.1:$WEBHDFS_PORT/jmx?qry=Hadoop:service=NameNode,name=$1" 2>/dev/null; }
jmx_number() { grep -o "\"$1\" : [0-9-]*" | grep -o '[0-9-]*$' | head -1; }

# WebHDFS answers and the namespace is writable (out of safe mode).
namenode_answers() {
  curl -sf --max-time 3 -o /dev/null \
    "http://127.0.0.1:$WEBHDFS_PORT/webhdfs/v1/?op=GETFILESTATUS&user.name=sluice" || return 1
  nn_jmx FSNamesystemState | grep -q '"FSState" : "Operational"'
}

dn_jmx() {
  curl -sf --max-time 3 "http://127.0.0.1:$HDFS_DATANODE_HTTP_PORT/jmx?get=Hadoop:service=DataNode,name=DataNodeInfo::$1" 2>/dev/null
}

# The DataNode has registered with the NameNode and the NameNode counts a live DataNode with free
# space, so a write can be placed on it. Asked in this order because the DataNode logs a stack
# trace for every query of its block pool before its handshake with the NameNode; the cluster id
# is only known after that handshake, and reading it logs nothing.
datanode_answers() {
  local state live free
  state="$(nn_jmx FSNamesystemState)" || return 1
  live="$(jmx_number NumLiveDataNodes <<<"$state")"
  free="$(jmx_number CapacityRemaining <<<"$state")"
  [ "${live:-0}" -ge 1 ] && [ "${free:-0}" -gt 0 ] || return 1
  [[ "$(dn_jmx ClusterId)" == *'"ClusterId" : "CID-'* ]] || return 1
  [[ "$(dn_jmx BPServiceActorInfo)" == *'\"ActorState\":\"RUNNING\"'* ]]
}

redis_answers() {
  [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

service_answers() {
  case "$1" in
    redis) redis_answers ;;
    kafka) kafka_answers ;;
    namenode) namenode_answers ;;
    datanode) datanode_answers ;;
  esac
}

# The JDK's module system closes java.base to reflection; Hadoop 3.4 (Jersey 1, Guice, its own
# reflection helpers) needs these open to serve WebHDFS on Java 17.
HADOOP_JAVA_OPENS=(
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED
)

java_major() {
  "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1") ? v[2] : v[1]; exit }'
}

# Kafka 4 needs Java 17 or newer; Hadoop 3.4 breaks on 23 and newer (Subject.getSubject), so take
# the first Java from 17 to 22, looking where Debian's packages put them too. SLUICE_JAVA wins.
find_java() {
  local c m
  if [ -n "${SLUICE_JAVA:-}" ]; then JAVA="$SLUICE_JAVA"; return 0; fi
  for c in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null || true)" \
    /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-21-openjdk-*/bin/java; do
    [ -x "$c" ] || continue
    m="$(java_major "$c" || true)"
    if [ "${m:-0}" -ge 17 ] && [ "${m:-0}" -le 22 ]; then JAVA="$c"; return 0; fi
  done
  return 1
}
