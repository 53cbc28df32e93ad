# The only entry points: humans and CI call the same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHOTLINE := $(BIN)/shotline
STAMP := $(VENV)/.installed

.PHONY: setup prometheus-tools deploy-tools browser-tools bench-tools deploy-check dev-up dev-down test test-failover unit lint typecheck run bench docs clean mutation

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev,moderation-local]'
	@touch $(STAMP)

setup: $(STAMP)

# Debian's prometheus + promtool, for the rule tests and the scrape test (apt-get if missing).
prometheus-tools:
	@deploy/local/ensure-debian-package.sh prometheus prometheus promtool

# Debian's docker-compose (`config` needs no daemon), for the compose checks in tests/unit/deploy;
# hadolint, kubernetes-validate and check-jsonschema come from the dev extra.
deploy-tools:
	@deploy/local/ensure-debian-package.sh docker-compose docker-compose

# Debian's chromium and chromium-driver, for the console's browser tests (apt-get if missing;
# nothing downloads a browser: the tests point Selenium at /usr/bin/chromedriver).
browser-tools:
	@deploy/local/ensure-debian-package.sh chromium chromium
	@deploy/local/ensure-debian-package.sh chromium-driver chromedriver

# Debian's wrk, the ingest and e2e benches' load generator (a test checks bench/paced.lua).
bench-tools:
	@deploy/local/ensure-debian-package.sh wrk wrk

# The offline deploy/ validators alone (image, compose, Kubernetes, dashboards).
deploy-check: setup prometheus-tools deploy-tools
	@$(BIN)/pytest -q tests/unit/deploy

dev-up: setup
	@$(SHOTLINE) dev up

dev-down: setup
	@$(SHOTLINE) dev down

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: setup
	@$(BIN)/mypy

# Nothing but the venv: the checks that need Debian's promtool or docker-compose (marker
# `debian`) run in `make deploy-check` and `make test`, which install those packages.
unit: setup
	@$(BIN)/pytest -q tests/unit -m 'not debian'

# The 3-broker failover test (docs/kafka.md): its own cluster, two leader kills under
# 300 callbacks/s; about 3 minutes, so not part of `make test`.
test-failover: setup
	@SHOTLINE_TEST_FAILOVER=1 $(BIN)/pytest -q -s tests/integration/cluster/test_failover.py

# Starts the local services if they are not running, runs everything, and stops only what
# it started (a developer's `make dev-up` stays up).
test: setup prometheus-tools deploy-tools browser-tools bench-tools lint typecheck
	@set -o pipefail; started=0; \
	if ! $(SHOTLINE) dev status --quiet; then $(SHOTLINE) dev up && started=1; fi; \
	$(BIN)/pytest -q tests; rc=$$?; \
	if [ $$started = 1 ]; then $(SHOTLINE) dev down; fi; \
	exit $$rc

run: setup
	@$(SHOTLINE) dev run

bench: setup bench-tools
	@$(SHOTLINE) bench --readme docs/performance.md

# docs/configuration.md from the settings models (a unit test fails when it is stale).
docs: setup
	@$(BIN)/python -m shotline.dev.configdoc

# Mutation testing of the parsers and the bill (docs/testing.md); not part of `make test`.
# A fresh run each time, at low priority (the cores are shared); fails below MUTATION_MIN %.
MUTATION_MIN ?= 95
mutation: setup
	@rm -rf mutants
	@nice -n 10 $(BIN)/mutmut run --max-children 2
	@$(BIN)/mutmut results
	@$(BIN)/mutmut export-cicd-stats >/dev/null
	@$(BIN)/python -c 'import json, sys; s = json.load(open("mutants/mutmut-cicd-stats.json")); \
	k, t = s["killed"] + s["timeout"], s["total"]; pct = 100 * k / t; \
	print(f"mutation score: {k}/{t} killed = {pct:.1f} % (minimum $(MUTATION_MIN) %)"); \
	sys.exit(pct < $(MUTATION_MIN))'

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
