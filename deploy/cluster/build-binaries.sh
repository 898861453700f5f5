#!/usr/bin/env bash
# Build the local cluster's binaries from source with the Go toolchain into <repo>/.cache/k8s/<version>/bin:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl from k8s.io/kubernetes,
# etcd (+ etcdctl) from go.etcd.io/etcd, CoreDNS from github.com/coredns/coredns. Everything comes through the Go
# module proxy at pinned versions; nothing prebuilt is downloaded.
# k8s.io/kubernetes is not meant to be a dependency: its go.mod points its 31 staging modules (k8s.io/api, ...) at
# ./staging/..., so a throw-away wrapper module replaces each by its published v0.<minor>.<patch> twin.
# Idempotent: each part is skipped when its stamp says it was built from the pinned version.
# All Kubernetes commands are built in ONE `go build` so the packages they share compile once.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.4}"        # the etcd client version k8s.io/kubernetes v1.34.4 itself requires
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${LSG_K8S_BIN:-${REPO_ROOT}/.cache/k8s/${K8S_VERSION}/bin}"
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

command -v go >/dev/null 2>&1 || { echo "error: go is required to build the cluster binaries" >&2; exit 1; }
mkdir -p "${BIN_DIR}"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"

fresh() {  # fresh <stamp-name> <want> <binaries...>: true when every binary exists and the stamp matches
  local stamp="${BIN_DIR}/.$1-build" want="$2"; shift 2
  [[ -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]] || return 1
  local b; for b in "$@"; do [[ -x "${BIN_DIR}/${b}" ]] || return 1; done
}

build_kubernetes() {
  local want="kubernetes ${K8S_VERSION} $(go env GOVERSION)"
  if fresh kubernetes "${want}" "${K8S_CMDS[@]}"; then echo "kubernetes ${K8S_VERSION} already in ${BIN_DIR}"; return; fi
  local start=${SECONDS} dir="${WORK}/kubernetes" staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "${dir}" && cd "${dir}"
  go mod init lsg.local/k8s-build >/dev/null 2>&1
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  # Each "k8s.io/x => ./staging/src/k8s.io/x" line of the upstream go.mod becomes "k8s.io/x => k8s.io/x v0.M.P".
  local mods
  mods="$(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => ./staging/.*#\1#p' "${gomod}")"
  echo "kubernetes ${K8S_VERSION}: $(wc -w <<<"${mods}") staging modules replaced by ${staging}"
  {
    echo "require k8s.io/kubernetes ${K8S_VERSION}"
    echo "replace ("
    local m; for m in ${mods}; do echo "  ${m} => ${m} ${staging}"; done
    echo ")"
  } >> go.mod
  local pkgs=() c; for c in "${K8S_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${c}"); done
  printf 'package tools\n\nimport (\n' > tools.go
  for c in "${pkgs[@]}"; do printf '\t_ "%s"\n' "${c}" >> tools.go; done
  printf ')\n' >> tools.go
  go mod tidy >/dev/null
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local v="k8s.io/component-base/version"
  local ldflags="-s -w -X ${v}.gitVersion=${K8S_VERSION} -X ${v}.gitMajor=1 -X ${v}.gitMinor=${minor}"
  ldflags+=" -X ${v}.gitTreeState=clean -X ${v}.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION}"
  echo "building ${K8S_CMDS[*]} ${K8S_VERSION} with $(go version) (cold: ~11 min on 2 cores) ..."
  go build -trimpath -ldflags "${ldflags}" -o "${BIN_DIR}/" "${pkgs[@]}"
  echo "${want}" > "${BIN_DIR}/.kubernetes-build"
  echo "kubernetes ${K8S_VERSION} built in $((SECONDS - start)) s"
}

build_etcd() {
  local want="etcd ${ETCD_VERSION} $(go env GOVERSION)"
  if fresh etcd "${want}" etcd etcdctl; then echo "etcd ${ETCD_VERSION} already in ${BIN_DIR}"; return; fi
  local start=${SECONDS} dir="${WORK}/etcd"
  mkdir -p "${dir}" && cd "${dir}"
  go mod init lsg.local/etcd-build >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" "go.etcd.io/etcd/etcdctl/v3@${ETCD_VERSION}" >/dev/null
  local ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"
  go build -trimpath -ldflags "${ldflags}" -o "${BIN_DIR}/etcd" go.etcd.io/etcd/server/v3
  go build -trimpath -ldflags "${ldflags}" -o "${BIN_DIR}/etcdctl" go.etcd.io/etcd/etcdctl/v3
  echo "${want}" > "${BIN_DIR}/.etcd-build"
  echo "etcd ${ETCD_VERSION} built in $((SECONDS - start)) s"
}

build_coredns() {
  local want="coredns ${COREDNS_VERSION} $(go env GOVERSION)"
  if fresh coredns "${want}" coredns; then echo "coredns ${COREDNS_VERSION} already in ${BIN_DIR}"; return; fi
  local start=${SECONDS} dir="${WORK}/coredns"
  mkdir -p "${dir}" && cd "${dir}"
  go mod init lsg.local/coredns-build >/dev/null 2>&1
  go get -tool "github.com/coredns/coredns@${COREDNS_VERSION}" >/dev/null
  go build -trimpath -ldflags "-s -w" -o "${BIN_DIR}/coredns" github.com/coredns/coredns
  echo "${want}" > "${BIN_DIR}/.coredns-build"
  echo "coredns ${COREDNS_VERSION} built in $((SECONDS - start)) s"
}

total=${SECONDS}
build_etcd
build_coredns
build_kubernetes
echo "cluster binaries ready in ${BIN_DIR} ($((SECONDS - total)) s)"
