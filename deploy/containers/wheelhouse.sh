#!/usr/bin/env bash
# Downloads, on the host, every wheel the image builds install: all of requirements.lock (hash-checked, for
# CPython 3.11 on manylinux x86_64, i.e. the images' Debian bookworm), plus the build tools service.Dockerfile
# uses (pip, uv, and hatchling for the workspace members' wheels). Builds then install offline from it:
# inside a build, HTTPS to a package index fails here (the egress proxy's CA is the host's, not the image's).
# Cached: skipped while requirements.lock and this file are unchanged (a stamp holds their hash).
# Usage: wheelhouse.sh [LOCK] (default: the repository's requirements.lock). Prints the wheelhouse folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${LSG_CONTAINERS_CACHE:-$root/.cache/containers}
out="$cache/wheels"
uv_version=${LSG_UV_VERSION:-0.13.8}   # service.Dockerfile's ARG UV_VERSION
tools=("pip" "uv==$uv_version" "hatchling")
lock=${1:-$root/requirements.lock}
stamp=$( { cat "$lock" "$here/wheelhouse.sh"; } | sha256sum | cut -c1-16)
if [[ -f "$out/.stamp" && $(cat "$out/.stamp") == "$stamp" ]]; then
  echo "$out"; exit 0
fi
mkdir -p "$out"
t0=$(date +%s)
pip=(python3 -m pip)
"${pip[@]}" --version >/dev/null 2>&1 || pip=("$root/.venv/bin/python" -m pip)
target=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none
        --platform any --platform linux_x86_64)
for v in $(seq 36 -1 5); do target+=(--platform "manylinux_2_${v}_x86_64"); done   # glibc 2.36: bookworm
target+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
grep -vE '^(-e )?\./' "$lock" >"$cache/constraints.txt"
# PIP_FIND_LINKS / PIP_NO_INDEX from the caller's environment must not redirect the download
env -u PIP_FIND_LINKS -u PIP_NO_INDEX "${pip[@]}" download --quiet --disable-pip-version-check --no-deps \
  -r "$cache/constraints.txt" -d "$out" "${target[@]}" >&2
env -u PIP_FIND_LINKS -u PIP_NO_INDEX "${pip[@]}" download --quiet --disable-pip-version-check \
  "${tools[@]}" -d "$out" "${target[@]}" >&2
echo "$stamp" >"$out/.stamp"
echo "wheelhouse: $(ls "$out"/*.whl | wc -l) wheels, $(du -sh "$out" | cut -f1) in $(( $(date +%s) - t0 )) s" >&2
echo "$out"
