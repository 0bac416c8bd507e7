# T21 — the two commands: `make run` and `make test`.
SHELL := /bin/bash
# The first interpreter that actually runs and is 3.11+ (a pyenv shim can exist and still fail).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	if $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed
WEB_DEPS := web/node_modules/.installed

.PHONY: run test install install-dev web web-deps lint format test-py test-web test-e2e openapi-client migrate bench clean

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "T21 needs Python 3.11 or newer (python3 on PATH)"; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

# The web app is optional at run time (the API serves a notice without it) but always built when present.
$(WEB_DEPS): web/package.json $(wildcard web/package-lock.json)
	@if [ -f web/package.json ]; then cd web && npm ci --no-audit --no-fund && touch node_modules/.installed; fi

web-deps: $(if $(wildcard web/package.json),$(WEB_DEPS),)

web: web-deps
	@if [ -f web/package.json ]; then cd web && npm run build; else echo "no web app yet"; fi

run: install web
	$(BIN)/t21 serve

migrate: install
	$(BIN)/t21 migrate

test: install-dev web-deps
	bash scripts/test-all.sh

test-py: install-dev
	$(BIN)/pytest -n $${T21_TEST_WORKERS:-4}

lint: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	@if [ -f web/package.json ]; then cd web && npm run lint; fi

format: install-dev
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

openapi-client: install-dev web-deps
	$(BIN)/t21 openapi > web/openapi.json
	cd web && npm run generate:api

clean:
	rm -rf $(VENV) web/node_modules web/dist .t21-test
