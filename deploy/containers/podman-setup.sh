#!/usr/bin/env bash
# Installs and configures Podman for this project's image builds and container tests (idempotent, ~0.1 s
# when done). Debian/Ubuntu as root: apt-get installs podman, runc and debootstrap if missing.
#
# Configuration written to /etc/containers/containers.conf (a marked block, kept on re-runs):
#   [engine] runtime = "runc"      crun (Debian's default) fails on hybrid cgroup v1/v2 hosts like this VM
#   [containers] default_ulimits = []   setrlimit is not permitted in this sandbox; podman's default nofile
#                                        ulimit made every container fail to start
# Skip the whole step with LSG_PODMAN_SETUP=0 (e.g. on a machine whose Podman is already set up otherwise).
set -euo pipefail

[[ "${LSG_PODMAN_SETUP:-1}" == 0 ]] && exit 0

need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "podman-setup: missing ${need[*]}: install them (Debian: apt-get install podman runc debootstrap)" >&2
    exit 1
  fi
  echo "podman-setup: apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || true
  apt-get install -y -q --no-install-recommends "${need[@]}" \
    fuse-overlayfs slirp4netns uidmap containernetworking-plugins catatonit >/dev/null
fi

# Containers find each other by name on a private network (the e2e test's services reach "postgres" and
# "kafka"). With the CNI backend that is the dnsname plugin's job, a package Podman only recommends: without it
# every service container failed with "Name or service not known".
if [[ $(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null) == cni ]] && [[ ! -x /usr/lib/cni/dnsname ]] \
   && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "podman-setup: apt-get install golang-github-containernetworking-plugin-dnsname (container names on networks)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || true
  apt-get install -y -q --no-install-recommends golang-github-containernetworking-plugin-dnsname dnsmasq-base >/dev/null
fi

conf=/etc/containers/containers.conf
begin="# >>> lsg-events (deploy/containers/podman-setup.sh)"
end="# <<< lsg-events"
if [[ $(id -u) -eq 0 ]] && ! grep -qF "$begin" "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  if [[ -s $conf ]] && grep -qE '^\s*\[(engine|containers)\]' "$conf"; then
    echo "podman-setup: $conf already has [engine]/[containers] tables; add runtime = \"runc\" and" \
         "default_ulimits = [] yourself" >&2
  else
    {
      echo "$begin"
      echo "[containers]"
      echo "default_ulimits = []"
      echo ""
      echo "[engine]"
      echo 'runtime = "runc"'
      echo "$end"
    } >>"$conf"
    echo "podman-setup: wrote runtime = runc, default_ulimits = [] to $conf"
  fi
fi
