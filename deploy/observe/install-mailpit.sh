#!/usr/bin/env bash
# Build Mailpit (an SMTP server with an HTTP API to read back what it received; the alerts service's tests send
# real e-mail to it) from source with the Go toolchain into <repo>/.cache/bin/mailpit. Mailpit comes as a Go
# module through the module proxy at a pinned release (no prebuilt binary is downloaded); its main package is
# the module root and its go.mod has no replace directives, so `go install pkg@version` builds it directly.
# Idempotent: does nothing when the cached binary was built from the pinned version.
set -euo pipefail

MAILPIT_VERSION="${MAILPIT_VERSION:-v1.33.1}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${REPO_ROOT}/.cache/bin"
MAILPIT="${BIN_DIR}/mailpit"
STAMP="${BIN_DIR}/.mailpit-build"
WANT="mailpit ${MAILPIT_VERSION}"

if [[ -x "${MAILPIT}" && -f "${STAMP}" && "$(cat "${STAMP}")" == "${WANT}" ]]; then
  echo "mailpit ${MAILPIT_VERSION} already at ${MAILPIT}"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "error: go is required to build mailpit" >&2; exit 1; }

mkdir -p "${BIN_DIR}"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
echo "building mailpit ${MAILPIT_VERSION} with $(go version) into ${BIN_DIR} (a few minutes the first time) ..."
# The version Mailpit reports comes from this ldflag.
LDFLAGS="-s -w -X github.com/axllent/mailpit/config.Version=${MAILPIT_VERSION}"
GOBIN="${WORK}" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go install -trimpath -ldflags "${LDFLAGS}" "github.com/axllent/mailpit@${MAILPIT_VERSION}"
mv "${WORK}/mailpit" "${MAILPIT}"
echo "${WANT}" > "${STAMP}"
echo "mailpit ${MAILPIT_VERSION} built at ${MAILPIT}"
