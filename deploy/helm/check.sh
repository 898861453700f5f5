#!/usr/bin/env bash
# Offline validation of the chart (run by `make chart`); needs Go (to build helm once) and uv.
#   1. build helm into .cache/bin if needed (install-helm.sh)
#   2. check files/topics.yaml is current with lsg_shared.topics (gen_topics.py --check)
#   3. helm lint --strict with the default and the production values
#   4. helm template both into .cache/helm/{default,production}.yaml
#   5. kubernetes-validate --strict every object against the Kubernetes OpenAPI schemas it ships
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"
CHART=deploy/helm/lsg
OUT=.cache/helm
# Kubernetes versions to validate against: the oldest the chart supports in this check and a current one.
K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 1.34.0}"
# CRD kinds with no schema in kubernetes-validate (it knows only the core API). They are skipped here
# by name and checked by deploy/helm/tests/test_chart.py instead; any other unknown kind fails.
SKIP_KINDS="KafkaTopic ServiceMonitor PrometheusRule"

bash deploy/helm/install-helm.sh >/dev/null
HELM="${REPO_ROOT}/.cache/bin/helm"
mkdir -p "${OUT}"

echo "== monitoring: dashboards current, rules valid and unit-tested"
"${REPO_ROOT}/.venv/bin/python" deploy/helm/monitoring/gen_dashboards.py --check
bash deploy/helm/install-promtool.sh
promtool check rules deploy/helm/lsg/files/prometheus-rules.yaml
promtool test rules deploy/helm/monitoring/rules-test.yaml

echo "== topics registry"
"${REPO_ROOT}/.venv/bin/python" deploy/helm/gen_topics.py --check

declare -A VALUES=([default]="" [production]="-f deploy/helm/values-production.yaml")
for name in default production; do
  # shellcheck disable=SC2086  # word splitting of the -f option is intended
  set -- ${VALUES[$name]}
  echo "== helm lint --strict (${name} values)"
  "${HELM}" lint --strict "${CHART}" "$@"
  echo "== helm template (${name} values) -> ${OUT}/${name}.yaml"
  "${HELM}" template lsg "${CHART}" --namespace lsg --kube-version 1.34.0 "$@" > "${OUT}/${name}.yaml"

  # Split off the CRD kinds: kubernetes-validate has no schema for them.
  "${REPO_ROOT}/.venv/bin/python" - "${OUT}/${name}.yaml" "${OUT}/${name}.k8s.yaml" ${SKIP_KINDS} <<'PY'
import sys
import yaml

src, dst, *skip = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(src, encoding="utf-8")) if d]
kept = [d for d in docs if d["kind"] not in skip]
with open(dst, "w", encoding="utf-8") as fh:
    yaml.safe_dump_all(kept, fh, sort_keys=False)
skipped = sorted({d["kind"] for d in docs} & set(skip))
print(f"   {len(docs)} objects; validating {len(kept)}; skipped CRD kinds: {', '.join(skipped) or 'none'}")
PY

  for v in ${K8S_VERSIONS}; do
    echo "== kubernetes-validate --strict -k ${v} (${name})"
    log="${OUT}/${name}.validate-${v}.log"
    if ! "${REPO_ROOT}/.venv/bin/kubernetes-validate" --strict --quiet -k "${v}" "${OUT}/${name}.k8s.yaml" > "${log}" 2>&1; then
      cat "${log}"; exit 1
    fi
    # Unknown kinds only warn; treat them as failures (they must be listed in SKIP_KINDS on purpose).
    if grep -q "Couldn't find schema" "${log}"; then
      cat "${log}"; echo "error: objects without a schema (add real CRD kinds to SKIP_KINDS)" >&2; exit 1
    fi
  done
done
echo "chart OK"
