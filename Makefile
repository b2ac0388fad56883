# Two entry points: `make run` (the demo) and `make test` (everything CI runs).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint imports typecheck pytest install clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/dynaccount-agent demo

lint: $(STAMP)
	$(BIN)/ruff check agent tests bench

# The layout's rules (pyproject.toml [tool.importlinter]): layers, libraries, a pure planner, no sandbox in production.
imports: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	bash scripts/install-system-packages.sh
	$(BIN)/pytest -q

test: lint imports typecheck pytest

clean:
	rm -rf $(VENV)
