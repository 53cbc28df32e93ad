# The only entry points: humans and CI call the same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHOTLINE := $(BIN)/shotline
STAMP := $(VENV)/.installed

.PHONY: setup prometheus-tools dev-up dev-down test unit lint typecheck run bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# Debian's prometheus + promtool, for the rule tests and the scrape test (apt-get if missing).
prometheus-tools:
	@deploy/local/ensure-debian-package.sh prometheus prometheus promtool

dev-up: setup
	@$(SHOTLINE) dev up

dev-down: setup
	@$(SHOTLINE) dev down

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: setup
	@$(BIN)/mypy

unit: setup prometheus-tools
	@$(BIN)/pytest -q tests/unit

# Starts the local services if they are not running, runs everything, and stops only what
# it started (a developer's `make dev-up` stays up).
test: setup prometheus-tools lint typecheck
	@set -o pipefail; started=0; \
	if ! $(SHOTLINE) dev status --quiet; then $(SHOTLINE) dev up && started=1; fi; \
	$(BIN)/pytest -q tests; rc=$$?; \
	if [ $$started = 1 ]; then $(SHOTLINE) dev down; fi; \
	exit $$rc

run: setup
	@$(SHOTLINE) dev run

bench: setup
	@deploy/local/ensure-debian-package.sh wrk wrk  # the ingest scenario's load generator
	@$(SHOTLINE) bench --readme README.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
