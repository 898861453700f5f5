#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: uv (if missing), then the workspace's virtual
# environment from the committed, hashed lock (requirements.lock). Idempotent and quick when current.
set -euo pipefail
cd "$(dirname "$0")/../../.."

if ! command -v uv >/dev/null 2>&1; then
  echo "uv not found: installing it with pip (user site)"
  python3 -m pip install --quiet --user "uv>=0.5" || python3 -m pip install --quiet "uv>=0.5"
  export PATH="$HOME/.local/bin:$PATH"
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: '$tool' is required (Java 17+ and Maven resolve and run Kafka)" >&2; exit 2; }
done

stamp=.venv/.lsg-lock-sha
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || uv venv --quiet --python ">=3.11" .venv
# Third-party packages exactly as the lock says, hashes checked; then the workspace members (editable,
# from this tree, without resolving anything further).
uv pip sync --quiet --python .venv/bin/python --require-hashes requirements.lock
members=(clients/lsg-events shared deploy/local deploy/demo testkit)
for svc in services/*/; do [ -f "$svc/pyproject.toml" ] && members+=("${svc%/}"); done
uv pip install --quiet --python .venv/bin/python --no-deps "${members[@]/#/-e}"
uv pip check --python .venv/bin/python
echo "$want" > "$stamp"
echo "environment installed from requirements.lock"
