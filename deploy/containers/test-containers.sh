#!/usr/bin/env bash
# `make test-containers`: the integration suite with Kafka and PostgreSQL in containers started by testcontainers
# (LSG_TEST_INFRA=testcontainers) on the local images, then the container tests (tests/containers: the four
# service images against Kafka and PostgreSQL containers, a short simulated run, compose.yaml checks). Starts
# Podman's API service, and afterwards removes every container that appeared during the run with a testcontainers
# or lsg.test label, ends the conmon processes the run's exec sessions left behind (see cleanup), and stops the
# service if it started it. Extra pytest arguments: PYTEST_ARGS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
bash "$here/podman-setup.sh"
for image in localhost/lsg-kafka:latest localhost/lsg-postgres:latest; do
  podman image exists "$image" || { echo "$image missing: run 'make images' first" >&2; exit 1; }
done

before=$(podman ps -aq --no-trunc | sort)
conmons_before=$(pgrep -x conmon | sort || true)
service_was_up=0
eval "$(bash "$here/podman-service.sh" env)"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "${DOCKER_HOST#unix://}" \
  2>/dev/null && service_was_up=1
bash "$here/podman-service.sh" start

cleanup() {
  local rc=$?
  local ids
  ids=$(comm -13 <(echo "$before") <(podman ps -aq --no-trunc | sort) || true)
  left=()
  for id in $ids; do
    labels=$(podman inspect --format '{{json .Config.Labels}}' "$id" 2>/dev/null || true)
    [[ "$labels" == *org.testcontainers* || "$labels" == *lsg.test* ]] && left+=("$id")
  done
  if ((${#left[@]})); then
    echo "test-containers: removing ${#left[@]} container(s) left by the run"
    podman rm -f -v "${left[@]}" >/dev/null 2>&1 || true
  fi
  # An exec session made through Podman's API (testcontainers waits for PostgreSQL by running psql in it) keeps
  # its conmon pair for exit_command_delay (5 min, Docker's exec reaper) after it ends, even once its container is
  # removed. End those that appeared during the run and whose container no longer exists; nothing else.
  local stray=() pid cid
  for pid in $(comm -13 <(echo "$conmons_before") <(pgrep -x conmon | sort || true)); do
    cid=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n '/^-c$/{n;p;q}' || true)
    [[ -n "$cid" ]] && ! podman container exists "$cid" 2>/dev/null && stray+=("$pid")
  done
  if ((${#stray[@]})); then
    echo "test-containers: ending ${#stray[@]} conmon process(es) of exec sessions in removed containers"
    kill -TERM "${stray[@]}" 2>/dev/null || true
    local alive=()
    for _ in $(seq 50); do
      alive=()
      for pid in "${stray[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
      ((${#alive[@]})) || break
      sleep 0.1
    done
    ((${#alive[@]})) && kill -KILL "${alive[@]}" 2>/dev/null || true
  fi
  ((service_was_up)) || bash "$here/podman-service.sh" stop
  exit $rc
}
trap cleanup EXIT INT TERM

export LSG_TEST_INFRA=testcontainers
export LSG_TEST_KAFKA_IMAGE=${LSG_TEST_KAFKA_IMAGE:-localhost/lsg-kafka:latest}
export LSG_TEST_POSTGRES_IMAGE=${LSG_TEST_POSTGRES_IMAGE:-localhost/lsg-postgres:latest}
export LSG_TEST_IMAGE_TAG=${LSG_IMAGE_TAG:-dev}
start=$(date +%s)
ok() {  # pytest's exit 5 (nothing selected) is fine only when PYTEST_ARGS narrowed the run
  local rc=$?
  [[ $rc -eq 5 && -n "${PYTEST_ARGS:-}" ]] || return $rc
}
# Both suites run whatever the first one gives; the exit status is the first failure's.
status=0
# shellcheck disable=SC2086
"$root/.venv/bin/pytest" -m integration -q --durations=10 -p no:cacheprovider --ignore=tests/containers \
  tests shared services ${PYTEST_ARGS:-} || ok || status=$?
# shellcheck disable=SC2086
"$root/.venv/bin/pytest" -q -s -p no:cacheprovider tests/containers ${PYTEST_ARGS:-} || ok || { rc=$?; ((status)) || status=$rc; }
echo "test-containers: $(( $(date +%s) - start )) s"
exit "$status"
