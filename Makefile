# Two commands matter: `make run` (set up + run the main job on the sample data) and `make test-all`
# (every test, what CI runs); `make test` is the quicker default suite (no tests marked slow).
# Everything installs from this repo's own files: uv (via pip if missing) -> .venv from uv.lock.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export LEDGER_HOME ?= $(CURDIR)
export DAGSTER_HOME ?= $(LEDGER_HOME)/data/warehouse/dagster

.PHONY: setup setup-scale run test test-all test-fast test-scale spark-build ui bench bench-scale docs lint format clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.9

# A venv that has the scale group keeps it when the lock changes (a plain sync would remove it).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python 3.11 $(if $(wildcard $(VENV)/.synced-scale),--group scale)
	@touch $@

setup: $(VENV)/.synced /usr/bin/chromium  ## create .venv from uv.lock (installs uv first if missing)

$(VENV)/.synced-scale: $(VENV)/.synced
	$(UV) sync --frozen --python 3.11 --group scale
	@touch $@

setup-scale: setup $(VENV)/.synced-scale /usr/lib/postgresql /usr/bin/java  ## setup + Postgres, Java and the scale group

# Debian's PostgreSQL server (started by the scale tests in a temp folder) and Java (Spark).
/usr/lib/postgresql:
	apt-get update -qq && apt-get install -y -qq postgresql

/usr/bin/java:
	apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless

# Debian's chromium for the UI's browser test (Playwright drives it; it downloads no browser).
/usr/bin/chromium:
	apt-get update -qq && apt-get install -y -qq chromium

run: setup  ## generate sample data if data/raw is empty, then ingest, build, audit and publish
	@if [ -z "$$(ls -A $(LEDGER_HOME)/data/raw/manifests 2>/dev/null)" ]; then $(BIN)/ledger generate; fi
	$(BIN)/ledger run

test: setup  ## the default suite: every test not marked slow or scale (tests/scale needs setup-scale)
	$(BIN)/pytest -m "not slow and not scale" --ignore=tests/scale

test-all: setup-scale lint  ## lint, then every test, slow and scale ones too (what CI runs: .ci/run)
	$(BIN)/pytest

test-scale: setup-scale  ## the shared-infrastructure tests: Postgres, DuckLake on Postgres, Spark
	$(BIN)/pytest -m scale

spark-build: setup-scale  ## dbt build --target spark (local pyspark) of the staging database's raw tables
	$(BIN)/python -m orchestration.spark

test-fast: test  ## old name of `make test`

ui: setup  ## Dagster UI on http://127.0.0.1:3000 (assets, checks, schedule, sensor, runs)
	$(BIN)/ledger ui

bench: setup  ## 10M-row pipeline benchmark vs the polars floor, then the version-store comparison
	$(BIN)/ledger bench pipeline
	$(BIN)/ledger bench versions

bench-scale: setup-scale  ## a backfill of every month as 1, 2, 4 parallel runs on Postgres vs one in-process run
	$(BIN)/ledger bench scale

docs: setup  ## where dbt docs and GX Data Docs are (after a run)
	$(BIN)/ledger docs

lint: setup  ## ruff format check + lint, sqlfluff on the dbt models and tests (.sqlfluff)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint dbt_project

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/sqlfluff fix dbt_project

clean:  ## remove built data (keeps data/raw)
	rm -rf data/warehouse dbt_project/target dbt_project/logs
