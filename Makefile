# clientpulse — `make run` brings the system up locally; `make test` runs every suite.
# Needs only Python >= 3.11: uv is installed into .tools/, the project into .venv/ from uv.lock.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit test-integration test-e2e test-contract lint format openapi asyncapi contracts bench clean

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(BIN)/clientpulse: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(BIN)/clientpulse ## Create .venv from uv.lock (all services, dev tools)

run: install ## Run the whole system locally (NATS, SQLite, demo data); Ctrl-C stops it
	$(BIN)/clientpulse run

test: install ## Run unit, integration and e2e tests (real NATS and PostgreSQL)
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: install ## Only the fast tests (no servers)
	$(BIN)/pytest -m "not integration and not e2e" $(PYTEST_ARGS)

test-integration: install ## Only tests against real NATS and PostgreSQL
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

test-e2e: install ## Only the black-box tests through the gateway (the access matrix included)
	$(BIN)/pytest -m e2e tests/e2e tests/access $(PYTEST_ARGS)

test-contract: install ## Only the schemathesis run of the OpenAPI document against the gateway (every role, all checks)
	$(BIN)/pytest tests/contract $(PYTEST_ARGS)

lint: install ## ruff (lint + format check), mypy, and the committed API documents are current
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src services/*/src
	$(BIN)/clientpulse-gateway openapi --check
	$(BIN)/python -m clientpulse.shared.asyncapi --check

format: install ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

openapi: install ## Regenerate the gateway's committed OpenAPI document
	$(BIN)/clientpulse-gateway openapi --write

asyncapi: install ## Regenerate the committed AsyncAPI document of the events
	$(BIN)/python -m clientpulse.shared.asyncapi --write

bench: install ## Run every benchmark and write BENCHMARKS.md (figures beside their same-run baselines; < 20 min on 2 cores)
	CLIENTPULSE_DEV_MODE=true $(BIN)/python bench/report.py

clean: ## Remove the environments and local data
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .ruff_cache .mypy_cache
