#!/usr/bin/env bash
# Podman's Docker-compatible API for testcontainers, on a private socket (never /var/run/docker.sock: the test
# fixtures switch to containers whenever that one answers, which would surprise everyone else on the machine).
#   podman-service.sh start   start it unless it answers; prints nothing
#   podman-service.sh stop    stop it if this script started it (its pid file), leave anything else alone
#   podman-service.sh env     the variables that point Docker clients and testcontainers at it
set -euo pipefail
dir=${LSG_PODMAN_RUN_DIR:-/run/lsg-podman}
sock="$dir/podman.sock"
pidfile="$dir/service.pid"

answers() {
  python3 - "$sock" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n"); sys.exit(0 if b"OK" in s.recv(256) else 1)
PY
}

case "${1:-}" in
  start)
    answers && exit 0
    mkdir -p "$dir"
    rm -f "$sock"
    # --time=0: no idle timeout; stopped by `stop` below
    setsid podman system service --time=0 "unix://$sock" >"$dir/service.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 100); do answers && exit 0; sleep 0.1; done
    echo "podman system service did not answer on $sock (log: $dir/service.log)" >&2
    exit 1
    ;;
  stop)
    [[ -f "$pidfile" ]] || exit 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "system service"; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile" "$sock"
    ;;
  env)
    echo "export DOCKER_HOST=unix://$sock"
    echo "export TESTCONTAINERS_RYUK_DISABLED=true"        # no reaper image here; cleanup is ours
    echo "export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
    echo "export TESTCONTAINERS_CONNECTION_MODE=docker_host"
    ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
