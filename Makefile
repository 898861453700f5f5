# LSG Events — the commands a newcomer needs. `make test` works on a fresh clone: it installs uv (if
# missing) and the locked environment, resolves and starts Kafka and PostgreSQL, then lints and tests.

SHELL := /bin/bash
BIN := .venv/bin
export PATH := $(HOME)/.local/bin:$(PATH)
PYTEST_ARGS ?=
RUN_ARGS ?=

.PHONY: help install lock infra infra-stop lint contracts chart jaeger mailpit test test-unit test-integration run bench clean images test-containers

help:
	@echo "make test          install everything, start Kafka + PostgreSQL, lint, run all tests"
	@echo "make install       create .venv from requirements.lock (installs uv if missing)"
	@echo "make infra         start the local Kafka (KRaft) broker and PostgreSQL; 'make infra-stop' stops them"
	@echo "make run           start Kafka, PostgreSQL, the four services and the simulator (Ctrl-C stops)"
	@echo "make lint          ruff, mypy, lock and contracts checks"
	@echo "make contracts     regenerate docs/asyncapi.yaml, docs/schemas/, docs/events.md"
	@echo "make chart         helm lint + render + offline Kubernetes schema validation"
	@echo "make lock          re-resolve dependencies and rewrite requirements.lock"
	@echo "make images        build every image with Podman (local base images, services, Kafka, PostgreSQL)"
	@echo "make test-containers  integration suite on Kafka/PostgreSQL containers + the container end-to-end test"
	@echo "make mailpit       build Mailpit (SMTP server the alerts tests send to) from the Go module proxy once"
	@echo "make jaeger        build Jaeger from the Go module proxy once (make run RUN_ARGS=--observe, the trace test)"
	@echo "make cluster       a one-node Kubernetes 1.34 on this machine (built from source once), project images loaded"
	@echo "make cluster-down  stop it and undo its processes, mounts, network devices and iptables chains"
	@echo "make test-k8s      the chart on that cluster: install, demo, upgrade/rollback, dry-run, PDB/HPA, helm test"
	@echo "make faults        fault-injection scenarios at full scale (~20 min; docs/reliability.md)"
	@echo "make fuzz          Schemathesis fuzz of the four OpenAPIs, longer than in make test (LSG_FUZZ_EXAMPLES=200)"

install:
	@bash deploy/local/scripts/bootstrap.sh

lock:
	uv lock
	uv export --frozen --all-packages --no-emit-workspace --quiet -o requirements.lock
	@$(BIN)/python deploy/local/scripts/check_lock.py || true

infra: install
	$(BIN)/lsg-infra start

infra-stop:
	$(BIN)/lsg-infra stop

contracts: install
	$(BIN)/lsg-contracts

lint: install
	$(BIN)/python deploy/local/scripts/check_lock.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src clients/lsg-events/src
	$(BIN)/mypy --strict $(wildcard services/*/src/lsg_*/domain)
	$(BIN)/mypy $(wildcard services/*/src) testkit/src
	$(BIN)/lsg-contracts --check

chart: install
	bash deploy/helm/check.sh

test-unit: install
	$(BIN)/pytest -m "not integration" -q $(PYTEST_ARGS)

test-integration: infra
	$(BIN)/pytest -m integration -q $(PYTEST_ARGS)

images: install
	bash deploy/containers/build-images.sh

test-containers: install
	bash deploy/containers/test-containers.sh

run: install
	$(BIN)/python deploy/local/scripts/run.py $(RUN_ARGS)

jaeger:
	bash deploy/observe/install-jaeger.sh

mailpit:
	bash deploy/observe/install-mailpit.sh

test: install lint infra chart jaeger mailpit
	$(BIN)/pytest -q --durations=15 $(PYTEST_ARGS)

clean:
	rm -rf .cache/helm .pytest_cache .mypy_cache .ruff_cache

.PHONY: faults
faults: install
	LSG_FAULTS_SCALE=full $(BIN)/pytest -m faults -q --durations=0 $(PYTEST_ARGS) tests/faults; status=$$?; \
	$(BIN)/python tests/faults/report.py; exit $$status

# The API fuzz suite of `make test` (tests/api_fuzz, 25 examples per operation there) with many more examples;
# LSG_FUZZ_EXAMPLES, LSG_FUZZ_SEED and LSG_FUZZ_CHECKS (comma-separated) may be set on the command line.
.PHONY: fuzz
fuzz: infra
	LSG_FUZZ_EXAMPLES=$${LSG_FUZZ_EXAMPLES:-200} $(BIN)/pytest tests/api_fuzz -q --durations=0 $(PYTEST_ARGS)

bench: infra mailpit
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# A one-node Kubernetes cluster from the project's own scripts (deploy/cluster; docs/operations.md, "Try the chart on
# a local cluster"). Root only. The binaries are built from the Go module proxy once into .cache/k8s/<version>/.
.PHONY: cluster cluster-down cluster-binaries test-k8s
cluster-binaries:
	bash deploy/cluster/build-binaries.sh

cluster: install images
	$(BIN)/python deploy/cluster/cluster.py up --images

cluster-down:
	$(BIN)/python deploy/cluster/cluster.py down

# The chart on that cluster (tests/k8s): brings the cluster up, proves the seven steps of issue 22 and takes it down.
test-k8s: install images cluster-binaries
	bash deploy/helm/install-helm.sh
	LSG_K8S_TESTS=1 $(BIN)/pytest tests/k8s -m k8s -p no:cacheprovider -q --durations=0 $(PYTEST_ARGS)
