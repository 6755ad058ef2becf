# nsa-compendium: `make reproduce` runs the whole study, `make test` checks it.
# Every target sets up what it needs (virtual environment, kernel) by itself.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
KERNEL  := nsa-compendium
KERNEL_SPEC := $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
TIMEOUT := 1800

# Offline use: `make reproduce DATA_MIRROR=/path/to/mirror` reads the data sets
# from a local folder (with a SHA256SUMS file) instead of downloading them.
ifdef DATA_MIRROR
export NSLIB_DATA_MIRROR := $(abspath $(DATA_MIRROR))
endif
# Parallel runs: `make reproduce JOBS=2` trains on two local cores.
ifdef JOBS
export NSLIB_JOBS := $(JOBS)
endif

.PHONY: help venv kernel reproduce quick test unit-test notebook-test bench lab clean book student

help: ## Show this help
	@echo "nsa-compendium: reproduce and check 'Neuro-Symbolic Activation Discovery'"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "Options: DATA_MIRROR=/folder (offline data), JOBS=N (parallel training)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[notebooks,test,book]'
	touch $@

venv: $(STAMP) ## Create .venv with the pinned packages

$(KERNEL_SPEC): $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" >/dev/null

kernel: $(KERNEL_SPEC) ## Register the Jupyter kernel the notebooks use

reproduce: $(KERNEL_SPEC) ## Run every notebook headless, in order, and keep the outputs
	@start=$$(date +%s); mkdir -p build/reproduce; \
	for nb in $(NOTEBOOKS); do \
	  echo "== $$nb"; \
	  $(BIN)/papermill --cwd notebooks -k $(KERNEL) --execution-timeout $(TIMEOUT) \
	    --progress-bar $$nb build/reproduce/$$(basename $$nb) || exit 1; \
	  cp build/reproduce/$$(basename $$nb) $$nb; \
	done; \
	$(BIN)/python -m nslib.report || exit 1; \
	echo; echo "Notebooks (with outputs): notebooks/"; \
	echo "Figures:  $$($(BIN)/python -c 'from nslib.paths import figures_dir; print(figures_dir())')"; \
	echo "Tables:   $$($(BIN)/python -c 'from nslib.paths import derived_dir; print(derived_dir())')"; \
	echo "Total time: $$(( $$(date +%s) - start )) s"

quick: $(KERNEL_SPEC) ## The same notebooks with a small profile, into build/quick (about 2 min)
	@start=$$(date +%s); rm -rf build/quick; mkdir -p build/quick; \
	export NSLIB_DERIVED_DIR=$(CURDIR)/build/quick/derived NSLIB_FIGURES_DIR=$(CURDIR)/build/quick/figures; \
	for nb in $(NOTEBOOKS); do \
	  echo "== $$nb"; \
	  $(BIN)/papermill --cwd notebooks -k $(KERNEL) --execution-timeout $(TIMEOUT) \
	    -p PROFILE quick $$nb build/quick/$$(basename $$nb) || exit 1; \
	done; \
	echo; echo "Executed notebooks, figures and tables: build/quick/"; \
	echo "Total time: $$(( $$(date +%s) - start )) s"

unit-test: $(STAMP) ## Run nslib's tests (pytest)
	$(BIN)/pytest tests

# nbval re-executes the committed notebooks; derived results and figures go to
# a fresh folder so the check recomputes them instead of reading the committed ones,
# and the key numbers are then asserted on those fresh tables.
notebook-test: $(KERNEL_SPEC) ## Re-execute the committed notebooks and compare outputs (nbval)
	rm -rf build/check; mkdir -p build/check
	NSLIB_DERIVED_DIR=$(CURDIR)/build/check/derived NSLIB_FIGURES_DIR=$(CURDIR)/build/check/figures \
	  $(BIN)/pytest -p no:cacheprovider --nbval-lax --nbval-kernel-name $(KERNEL) \
	  --nbval-cell-timeout $(TIMEOUT) --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOKS)
	NSLIB_DERIVED_DIR=$(CURDIR)/build/check/derived $(BIN)/pytest -p no:cacheprovider tests/test_key_numbers.py

test: unit-test notebook-test ## Run all tests: nslib's, then the notebooks

bench: $(STAMP) ## Time the training engine against the paper-style loop
	$(BIN)/python scripts/bench.py

lab: $(KERNEL_SPEC) ## Open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks

clean: ## Remove build outputs and the virtual environment (keeps data/raw)
	rm -rf build $(VENV) *.egg-info .pytest_cache

book: $(STAMP) ## The HTML book from the committed notebooks and their outputs, into build/book/
	$(BIN)/python -m nslib.book html

student: $(STAMP) ## Students' copies (no outputs, no solutions, quick profile) into build/student/
	$(BIN)/python -m nslib.book student
