# Thin wrappers: each target calls the CLI or pytest. `make test` is what CI runs.
SHELL := /bin/bash
# A venv from Debian's Python, so other Unix users (JupyterHub learners) can run it.
BOOTSTRAP_PYTHON := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export MLFLOW_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export ORT_DISABLE_TELEMETRY := 1
PYTEST_WORKERS ?= auto

.PHONY: setup start demo check test test-fast lint bench lock clean

setup: $(STAMP) $(VENV)/.system-packages node_modules/.installed

node_modules/.installed: package.json package-lock.json  # configurable-http-proxy for the hub
	npm ci --silent --no-audit --no-fund
	touch $@

$(VENV)/.system-packages: scripts/install-system-packages
	scripts/install-system-packages
	mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $(STAMP)

start: setup  ## JupyterHub with the three courses on 127.0.0.1:8000
	$(BIN)/poc2prod start

demo: setup  ## headless full cycle with simulated learners
	$(BIN)/poc2prod demo

check: setup  ## assignment QA for every course
	$(BIN)/poc2prod check

lint: setup
	$(BIN)/ruff check .

test: setup lint  ## everything CI runs
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not serial" --durations=10
	$(BIN)/pytest -m serial --durations=5

test-fast: setup  ## the quick loop: no notebooks, servers or whole courses
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not slow" -n $(PYTEST_WORKERS)

lock: setup  ## re-pin constraints.txt to what is installed now
	$(BIN)/python -m pip freeze --exclude-editable --exclude poc2prod > constraints.txt

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache test-artifacts
