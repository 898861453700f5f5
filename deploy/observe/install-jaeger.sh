#!/usr/bin/env bash
# Build Jaeger (all-in-one: OTLP receiver, in-memory storage, query API and UI) from source with the Go
# toolchain into <repo>/.cache/bin/jaeger. Jaeger comes as a Go module through the module proxy at a pinned,
# approved release (no prebuilt binary is downloaded); `go get -tool` in a throw-away wrapper module resolves
# it (its go.mod carries replace directives, so a bare `go install pkg@version` would refuse it).
# Idempotent: does nothing when the cached binary was built from the pinned version.
set -euo pipefail

JAEGER_VERSION="${JAEGER_VERSION:-v1.75.0}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${REPO_ROOT}/.cache/bin"
JAEGER="${BIN_DIR}/jaeger"
STAMP="${BIN_DIR}/.jaeger-build"
WANT="jaeger ${JAEGER_VERSION}"

if [[ -x "${JAEGER}" && -f "${STAMP}" && "$(cat "${STAMP}")" == "${WANT}" ]]; then
  echo "jaeger ${JAEGER_VERSION} already at ${JAEGER}"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "error: go is required to build jaeger" >&2; exit 1; }

mkdir -p "${BIN_DIR}"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
echo "building jaeger ${JAEGER_VERSION} with $(go version) into ${BIN_DIR} (several minutes the first time) ..."
cd "${WORK}"
go mod init lsg.local/jaeger-build >/dev/null 2>&1
go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@${JAEGER_VERSION}"
# The version Jaeger reports comes from these ldflags (go build does not set them).
LDFLAGS="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=${JAEGER_VERSION}"
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go build -trimpath -ldflags "${LDFLAGS}" -o "${JAEGER}" github.com/jaegertracing/jaeger/cmd/jaeger
echo "${WANT}" > "${STAMP}"
echo "jaeger ${JAEGER_VERSION} built at ${JAEGER}"
