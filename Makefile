# Set-up is automatic: every target creates .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: setup demo lint test test-all

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q $(TORCH) -e '.[test,lint,bio,chem,ogb]'
	# The tutorials' text stack (transformers, all-MiniLM-L6-v2 weights,
	# sentence-transformers, PyYAML), torch pinned in the same call.
	$(PIP) install -q $(TORCH) -e '.[text]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/pyg-sip demo

lint: setup
	$(VENV)/bin/ruff check pyg_sip tests benchmarks

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q --runslow
