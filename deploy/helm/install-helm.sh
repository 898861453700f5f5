#!/usr/bin/env bash
# Build the Helm CLI from source with the Go toolchain into <repo>/.cache/bin/helm.
# Helm is fetched as a Go module (no prebuilt binary download); the version is pinned.
# Idempotent: does nothing when .cache/bin/helm already reports the pinned version.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"   # newest v3 release verified to build with Go 1.26
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${REPO_ROOT}/.cache/bin"
HELM="${BIN_DIR}/helm"
# Kubernetes version helm assumes by default (`helm template` without --kube-version, lint); helm's own
# Makefile derives it from its k8s.io/client-go (v0.37 -> 1.37); `go install` alone would leave v1.20.
K8S_MAJOR=1
K8S_MINOR=37
STAMP="${BIN_DIR}/.helm-build"
WANT="helm ${HELM_VERSION} k8s ${K8S_MAJOR}.${K8S_MINOR}"

if [[ -x "${HELM}" && -f "${STAMP}" && "$(cat "${STAMP}")" == "${WANT}" ]] \
  && "${HELM}" version --template '{{.Version}}' 2>/dev/null | grep -qx "${HELM_VERSION}"; then
  echo "helm ${HELM_VERSION} already at ${HELM}"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "error: go is required to build helm (go install)" >&2; exit 1; }

mkdir -p "${BIN_DIR}"
echo "building helm ${HELM_VERSION} with $(go version) into ${BIN_DIR} ..."
# helm's `version` output comes from these ldflags (go install does not set them).
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  LDFLAGS+=" -X ${pkg}.k8sVersionMajor=${K8S_MAJOR} -X ${pkg}.k8sVersionMinor=${K8S_MINOR}"
done
GOBIN="${BIN_DIR}" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go install -trimpath -ldflags "${LDFLAGS}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"

"${HELM}" version --short
echo "${WANT}" > "${STAMP}"
