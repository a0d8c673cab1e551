# The README's two commands: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: lab test setup lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

lab: setup
	@if [ -f notebooks/quickstart.ipynb ]; then target=quickstart.ipynb; else target=; fi; \
	cd notebooks && NBTRACK_STORE=$${NBTRACK_STORE:-$(CURDIR)/notebooks/.nbtrack} \
	  ../$(PY) -m jupyter lab $$target

lint: setup
	$(VENV)/bin/ruff check nbtrack tests benchmarks
	$(VENV)/bin/ruff format --check nbtrack tests benchmarks
	$(VENV)/bin/mypy nbtrack

test: lint
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/store.py

clean:
	rm -rf $(VENV) build dist nbtrack/labextension
