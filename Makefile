# Two commands do all set-up on a fresh Debian/Ubuntu machine with python3 (venv) and make:
#   make run    server on SQLite, a demo district, the local agent reporting into it
#   make test   ruff, mypy and pytest (SQLite and PostgreSQL)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The tests run in parallel, one process per core (at most 4); PYTEST_WORKERS= runs them in one process.
PYTEST_WORKERS ?= -n logical --maxprocesses=4

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m server demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_WORKERS)

bench: $(STAMP)
	$(BIN)/python bench/agent_collect.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
