# FirstCall: two commands do all setup on a fresh machine.
#   make demo   run a simulated school live (in-process bus, SQLite)
#   make test   run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/firstcall demo

test: $(STAMP)
	$(PY) -m ruff check monitor detectors outreach tests
	$(PY) -m mypy
	$(PY) -m pytest

bench: $(STAMP)
	$(VENV)/bin/firstcall bench

lint: $(STAMP)
	$(PY) -m ruff check monitor detectors outreach tests

typecheck: $(STAMP)
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
