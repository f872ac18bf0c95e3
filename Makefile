# motcua — the two commands: `make run` (serve on http://localhost:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell sha1sum pyproject.toml | cut -c1-10)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck test-sqlite test-postgresql browser-deps bench catalogue clean

$(VENV)/.runtime-$(HASH):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@rm -f $(VENV)/.runtime-* && touch $@

$(VENV)/.test-$(HASH): $(VENV)/.runtime-$(HASH)
	$(BIN)/pip install -q -e '.[test]'
	@rm -f $(VENV)/.test-* && touch $@

## make run: create .venv, migrate, load the bundled catalogue and demo data, serve on :8000
run: $(VENV)/.runtime-$(HASH)
	$(BIN)/motcua setup
	$(BIN)/motcua vapid-keys --save
	MOTCUA_EMBEDDED_WORKER=1 $(BIN)/motcua serve

## Debian's Chromium for the browser tests (Playwright cannot download its own browser here) and the Noto fonts the
## forms' PDFs embed
browser-deps:
	@test -x /usr/bin/chromium -a -f /usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium fonts-noto-core; }

lint: $(VENV)/.test-$(HASH)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports  # the directions of dependency (.importlinter, docs/adr/0001)

test-sqlite: $(VENV)/.test-$(HASH) browser-deps
	MOTCUA_TEST_DB=sqlite $(BIN)/pytest -q

test-postgresql: $(VENV)/.test-$(HASH) browser-deps
	MOTCUA_TEST_DB=postgresql MOTCUA_TEST_PG_URL=$(PG_TEST_URL) $(BIN)/pytest -q

## make test: install what tests need, lint, type-check, run the suite on SQLite and on PostgreSQL
test: lint test-sqlite test-postgresql

## make bench: the figures of the issues' speed goals (see bench/README.md)
bench: $(VENV)/.test-$(HASH) browser-deps
	$(BIN)/python -m bench

## rebuild the bundled catalogue from ../shared/data/tthc/raw with our own importer
catalogue: $(VENV)/.runtime-$(HASH)
	$(BIN)/motcua build-catalogue

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
