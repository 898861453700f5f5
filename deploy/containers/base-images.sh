#!/usr/bin/env bash
# Local base images, made without any container registry:
#   localhost/lsg-debian:bookworm   debootstrap --variant=minbase from this machine's own Debian mirror
#   localhost/lsg-python:3.11-bookworm   + Debian's python3 (3.11) and pip (from the host-downloaded wheelhouse)
#   localhost/lsg-java:17-bookworm       + openjdk-17-jre-headless
# Reproducible recipe: the release, the package lists and these files are the only inputs; the Debian image
# carries a label with their hash and is rebuilt only when it changes; the other two are cached podman builds.
# Usage: base-images.sh WHEELHOUSE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
wheels=$(cd "${1:?usage: base-images.sh WHEELHOUSE}" && pwd)
release=bookworm
cache=${LSG_CONTAINERS_CACHE:-$root/.cache/containers}
debian_image=localhost/lsg-debian:$release

# bump when the debootstrap step below changes (the label records it; a mismatch rebuilds the Debian image)
recipe_version=1
recipe=$( { echo "$release $recipe_version"; cat "$here/lib/apt_sources.py"; } | sha256sum | cut -c1-16)
have=$(podman image inspect --format '{{index .Labels "lsg.recipe"}}' "$debian_image" 2>/dev/null || true)
if [[ "$have" != "$recipe" ]]; then
  mirror=$(python3 "$here/lib/apt_sources.py" mirror "$release")
  rootfs="$cache/rootfs-$release"
  rm -rf "$rootfs"
  mkdir -p "$cache"
  t0=$(date +%s)
  echo "base: debootstrap --variant=minbase $release (mirror from /etc/apt/sources.list*)"
  debootstrap --variant=minbase "$release" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log"; exit 1; }
  python3 "$here/lib/apt_sources.py" sources "$release" >"$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/apt.conf.d/90lsg" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Dpkg::Options { "--force-confdef"; "--force-confold"; };
CONF
  # what a container image needs none of: caches, logs, docs, locales other than C
  rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/var/log/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  : >"$rootfs/etc/machine-id"
  epoch=$(stat -c %Y "$rootfs/var/lib/dpkg/status")
  tar -C "$rootfs" --sort=name --numeric-owner --mtime="@$epoch" -c . \
    | podman import --quiet --change "LABEL lsg.recipe=$recipe" --change 'CMD ["/bin/bash"]' \
        --change 'ENV LANG=C.UTF-8' - "$debian_image" >/dev/null
  rm -rf "$rootfs"
  echo "base: $debian_image imported in $(( $(date +%s) - t0 )) s"
fi

build() {  # build TAG CONTAINERFILE
  local t0; t0=$(date +%s)
  podman build --quiet --layers --pull=never -v "$wheels:/wheels:ro" \
    --build-arg BASE_IMAGE="$debian_image" -t "$1" -f "$2" "$here/base" >/dev/null
  echo "base: $1 ($(( $(date +%s) - t0 )) s)"
}
build localhost/lsg-python:3.11-$release "$here/base/python.Containerfile"
build localhost/lsg-java:17-$release "$here/base/java.Containerfile"
