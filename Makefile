# TwinRCA developer commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
#: make test's workers: one per core (2 on the CI machine); each test file stays on one worker
TEST_WORKERS ?= 2

.PHONY: help venv demo dashboard test test-fast test-unit lint-imports lint fmt bench services-up services-down services-status clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create the virtual environment and install TwinRCA with its dev tools

demo: $(STAMP) ## run the whole pipeline on a generated scenario, no servers needed
	$(VENV)/bin/twinrca demo $(DEMO_ARGS)

dashboard: $(STAMP) ## start the Streamlit RCA dashboard on the demo data
	$(VENV)/bin/twinrca dashboard

test: $(STAMP) lint-imports ## import rules; start Kafka, TimescaleDB and PostgreSQL (empty), run every test, stop the services
	@bash -c 'trap "./deploy/services.sh down" EXIT; \
	  ./deploy/services.sh wipe && ./deploy/services.sh up && ./deploy/browser.sh install && \
	  eval "$$(./deploy/services.sh env | sed "s/^/export /")" && \
	  TWINRCA_REQUIRE_SERVICES=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)'

test-fast: $(STAMP) lint-imports ## import rules, then every test that needs no server or browser (< 3 min)
	$(PY) -m pytest -m "not integration and not browser" -q $(PYTEST_ARGS)

test-unit: $(STAMP) ## unit tests only (no servers)
	$(PY) -m pytest -m "not integration and not browser" $(PYTEST_ARGS)

lint-imports: $(STAMP) ## the package import rules of pyproject.toml (import-linter)
	$(VENV)/bin/lint-imports

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

fmt: $(STAMP) ## format the code
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: $(STAMP) ## run every benchmark in quick mode (each prints one JSON object)
	@for b in ingest twin rca predict e2e dashboard; do \
	  if [ -f bench/$$b.py ]; then echo "== bench.$$b"; $(PY) -m bench.$$b --json --quick || exit 1; fi; done

services-up: ## install (first time, cached in ~/.cache/twinrca) and start Kafka, TimescaleDB, PostgreSQL
	./deploy/services.sh up

services-down: ## stop the services
	./deploy/services.sh down

services-status: ## show which services run
	./deploy/services.sh status

clean: ## remove the virtual environment and generated data (not the service caches)
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
