# avikit: two set-up commands. `make run` runs the main job; `make test` runs lint, type check and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
RUN_OUT ?= runs/bench
# torchcrepe's own requirements name torchaudio (never installed here): it goes in without them, its other
# requirements (librosa, resampy, scipy, tqdm) come with the tokenizers extra.
TORCHCREPE := torchcrepe==0.0.24

.PHONY: run test lint typecheck unit bench clean system domain-study

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps $(TORCHCREPE)
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/avikit bench --out $(RUN_OUT)

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

# the Debian programs of the audio-domains corpus (espeak-ng, fluidsynth, fluid-soundfont-gm), when missing
system:
	bash tools/install_system_packages.sh

unit: system $(STAMP_DEV)
	OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 -q

# the speech / music / effects tokenizer study (about an hour on 2 shared cores; see benchmarks/RESULTS.md)
domain-study: system $(STAMP_DEV)
	OMP_NUM_THREADS=1 nice $(BIN)/avikit tokenizers study --domains speech,music,effects --out runs/domain_study

test: lint typecheck unit

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/media_load.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
