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
PIP_VERSION := 26.3
PROFILE ?= full

# Offline use: `make reproduce DATA_MIRROR=/path/to/mirror` reads the data sets
# from a local folder (with a SHA256SUMS file) instead of downloading them.
ifdef DATA_MIRROR
export NSLIB_DATA_MIRROR := $(abspath $(DATA_MIRROR))
endif
# Parallel runs: `make reproduce JOBS=2` trains on two local cores.
ifdef JOBS
export NSLIB_JOBS := $(JOBS)
endif

.PHONY: help venv kernel reproduce study quick test unit-test notebook-test bench lab clean book student

help: ## Show this help
	@echo "nsa-compendium: reproduce and check 'Neuro-Symbolic Activation Discovery'"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "Options: DATA_MIRROR=/folder (offline data), JOBS=N (parallel training), PROFILE=quick, FRESH=1;"
	@echo "  make study also HEADER=yes|no SEP=... DECIMAL=, NA=... ONE_HOT=yes ENCODING=... (how to read the CSV)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==$(PIP_VERSION)
	# compat: a plain .pth entry for the repository, and no setuptools notice in the output
	$(BIN)/pip install --quiet --config-settings editable_mode=compat -e '.[notebooks,test,book]'
	touch $@

venv: $(STAMP) ## Create .venv with the pinned packages

$(KERNEL_SPEC): $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" >/dev/null

kernel: $(KERNEL_SPEC) ## Register the Jupyter kernel the notebooks use

# Every number recomputed in build/reproduce/ (never read from data/derived/), a
# report beside the committed reference, then (full profile) the copy back.
# Started again after an interruption it resumes there; FRESH=1 starts over.
reproduce: $(KERNEL_SPEC) ## The whole study, recomputed in build/reproduce, with REPORT.md (FRESH=1 starts over)
	$(BIN)/python -m nslib.publish.pipeline reproduce --profile $(PROFILE) $(if $(FRESH),--fresh)

# Your own data: make study CSV=file LABEL=column [POSITIVE=value] [NAME=name] [PROFILE=quick]
# How to read it, where detection needs help (each names its from_csv keyword):
#   HEADER=yes|no (line 1 names the columns, or is data), SEP=';' or SEP=tab|comma|semicolon|pipe|space,
#   DECIMAL=, (decimal commas), NA=-999,unknown (more values that mark a missing value),
#   ONE_HOT=yes (one-hot encode text feature columns), ENCODING=cp1252 (any Python codec name).
STUDY_OPTIONS := $(if $(HEADER),--header "$(HEADER)") $(if $(SEP),--sep "$(SEP)") \
  $(if $(DECIMAL),--decimal "$(DECIMAL)") $(if $(NA),--na "$(NA)") $(if $(ONE_HOT),--one-hot "$(ONE_HOT)") \
  $(if $(ENCODING),--encoding "$(ENCODING)")
study: $(KERNEL_SPEC) ## The whole study on your CSV, into build/study/NAME, with REPORT.md
	@test -n "$(CSV)" -a -n "$(LABEL)" || { echo "usage: make study CSV=path/to/data.csv LABEL=column [POSITIVE=value] [NAME=name] [PROFILE=quick] [FRESH=1] [HEADER=yes|no] [SEP=...] [DECIMAL=,] [NA=...] [ONE_HOT=yes] [ENCODING=...]"; exit 2; }
	$(BIN)/python -m nslib.publish.pipeline study --csv "$(CSV)" --label "$(LABEL)" --profile $(PROFILE) \
	  $(if $(POSITIVE),--positive "$(POSITIVE)") $(if $(NAME),--name "$(NAME)") $(if $(FRESH),--fresh) $(STUDY_OPTIONS)

quick: $(KERNEL_SPEC) ## Every notebook with the small profile, into build/quick (about two minutes)
	$(BIN)/python -m nslib.publish.pipeline quick

# Two workers (pytest-xdist): the slow end-to-end runs go first, one on each.
unit-test: $(KERNEL_SPEC) ## Run nslib's tests (pytest, two workers)
	$(BIN)/pytest -n 2 tests

# nbval re-executes the committed notebooks; derived results and figures go to
# a fresh folder so the check recomputes them instead of reading the committed ones,
# and the key numbers are then asserted on those fresh tables.
notebook-test: $(KERNEL_SPEC) ## Re-execute the committed notebooks and compare outputs (nbval)
	rm -rf build/check; mkdir -p build/check
	NSLIB_DERIVED_DIR=$(CURDIR)/build/check/derived NSLIB_FIGURES_DIR=$(CURDIR)/build/check/figures NSLIB_PROGRESS=summary \
	  $(BIN)/pytest -p no:cacheprovider --nbval-lax --nbval-kernel-name $(KERNEL) \
	  --nbval-cell-timeout $(TIMEOUT) --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOKS)
	NSLIB_DERIVED_DIR=$(CURDIR)/build/check/derived $(BIN)/pytest -p no:cacheprovider tests/test_key_numbers.py

test: unit-test notebook-test ## Run all tests: nslib's, then the notebooks

bench: $(STAMP) ## Time the training engine against the paper-style loop (writes data/derived/bench.json)
	NSLIB_DERIVED_DIR=$(CURDIR)/data/derived $(BIN)/python scripts/bench.py

# Work in the lab goes to build/scratch/, never over the committed reference tables.
lab: $(KERNEL_SPEC) ## Open the notebooks in JupyterLab (outputs go to build/scratch/)
	mkdir -p build/scratch/derived build/scratch/figures
	NSLIB_DERIVED_DIR=$(CURDIR)/build/scratch/derived NSLIB_FIGURES_DIR=$(CURDIR)/build/scratch/figures \
	  $(BIN)/jupyter lab notebooks

clean: ## Remove build outputs and the virtual environment (keeps data/raw)
	rm -rf build $(VENV) *.egg-info .pytest_cache

book: $(STAMP) ## The HTML book from the committed notebooks and their outputs, into build/book/
	$(BIN)/python -m nslib.publish.book html

student: $(STAMP) ## Students' copies (no outputs, no solutions, quick profile) into build/student/
	$(BIN)/python -m nslib.publish.book student
