# The image of one LSG Events service (surveys, training, alerts, reporting): one template, the service named by
# build arguments. Build from the repository root (the context must see clients/, shared/, services/ and
# requirements.lock):
#   docker build -f deploy/containers/service.Dockerfile --build-arg SERVICE=alerts --build-arg PORT=8003 \
#     -t lsg-alerts:dev .
# Ports: surveys 8001, training 8002, alerts 8003, reporting 8004 (the chart's components.<svc>.port).
#
# Dependencies come from requirements.lock (a hashed `uv export --frozen --all-packages`; uv.lock itself
# is git-ignored). The lock lists every workspace member's and the dev group's packages, so it is used as a
# *constraints* file: only the dependencies declared by clients/lsg-events, shared/ and services/$SERVICE/ are
# resolved, each pinned to the lock's version and checked against the lock's hashes (uv verifies constraint
# hashes). A package the lock does not pin fails the build. See docs/operations.md ("Images").
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder
ARG SERVICE
ARG UV_VERSION=0.13.8
RUN test -n "${SERVICE}" || { echo "build argument SERVICE is required" >&2; exit 1; }
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1 \
    VIRTUAL_ENV=/opt/venv
WORKDIR /src
RUN uv venv --python /usr/local/bin/python3 /opt/venv

# Dependency layer: rebuilt only when the lock or a member's pyproject changes.
COPY pyproject.toml requirements.lock ./
COPY clients/lsg-events/pyproject.toml clients/lsg-events/pyproject.toml
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/${SERVICE}/pyproject.toml services/${SERVICE}/pyproject.toml
RUN grep -vE '^(-e )?\./' requirements.lock > /tmp/constraints.txt \
 && python -c "import sys, tomllib; deps = [d for p in sys.argv[1:] for d in tomllib.load(open(p, 'rb'))['project'].get('dependencies', []) if not d.lower().startswith('lsg-')]; open('/tmp/direct.txt', 'w').write('\n'.join(deps) + '\n')" \
      clients/lsg-events/pyproject.toml shared/pyproject.toml services/${SERVICE}/pyproject.toml \
 && uv pip install --python /opt/venv/bin/python --verify-hashes -r /tmp/direct.txt -c /tmp/constraints.txt \
 && /opt/venv/bin/python -c "import re, sys, importlib.metadata as md; norm = lambda n: re.sub(r'[-_.]+', '-', n).lower(); pinned = {norm(l.split('==')[0]) for l in open('/tmp/constraints.txt') if '==' in l and not l.startswith((' ', '#'))}; extra = sorted({norm(d.metadata['Name']) for d in md.distributions()} - pinned - {'pip', 'setuptools'}); sys.exit('not pinned in requirements.lock: ' + ', '.join(extra) if extra else 0)"

# Application layer: the event contracts, the shared library and this service, installed non-editable (wheels
# built by hatchling). `lsg-service` names the service's console script, so the entrypoint is the same in every
# image (an exec-form ENTRYPOINT cannot expand a build argument).
COPY clients/lsg-events/ clients/lsg-events/
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN uv pip install --python /opt/venv/bin/python --no-deps ./clients/lsg-events ./shared ./services/${SERVICE} \
 && test -x "/opt/venv/bin/lsg-${SERVICE}" \
 && ln -s "lsg-${SERVICE}" /opt/venv/bin/lsg-service

FROM ${BASE_IMAGE} AS runtime
ARG SERVICE
ARG PORT
LABEL org.opencontainers.image.title="lsg-${SERVICE}" \
      org.opencontainers.image.description="LSG Events ${SERVICE} service" \
      org.opencontainers.image.licenses="Apache-2.0"
# Training prints certificates and reporting the period reports (PDF) with Latin (with Latvian diacritics) and
# Cyrillic script: DejaVu covers both.
RUN test -n "${PORT}" || { echo "build argument PORT is required" >&2; exit 1; }; \
    if [ "${SERVICE}" = training ] || [ "${SERVICE}" = reporting ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends fonts-dejavu-core \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN groupadd --system --gid 10001 lsg \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lsg
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LSG_HTTP_PORT=${PORT}
USER 10001
EXPOSE ${PORT}
ENTRYPOINT ["lsg-service"]
CMD ["serve"]
