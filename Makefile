# FirstCall: two commands do all setup on a fresh machine.
#   make demo   run a simulated school live (in-process bus, SQLite)
#   make test   run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint typecheck clean system-deps screenshots

# setup.py compiles these with mypyc: an edit rebuilds (until then the source runs).
COMPILED := detectors/engine.py detectors/lag.py detectors/flapping.py detectors/disconnect.py

$(STAMP): pyproject.toml setup.py $(COMPILED)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Debian packages some tests drive (Chromium for the console, promtool for the
# alert rules); installed when we may (root with apt), otherwise those tests skip.
system-deps:
	@sh deploy/dev-system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/firstcall demo

test: $(STAMP) system-deps
	$(PY) -m ruff check monitor detectors outreach bench tests
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m bench --phases replay,memory,delay,kafka --write docs/benchmarks.md

# The README's screenshots: run the browser tests its table names, keep the linked
# pictures as small JPEGs in docs/screenshots/ (tests/support/screenshots.py).
screenshots: $(STAMP) system-deps
	$(PY) -m tests.support.screenshots

lint: $(STAMP)
	$(PY) -m ruff check monitor detectors outreach bench tests

typecheck: $(STAMP)
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
