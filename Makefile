# The README's two commands: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JLPM := $(CURDIR)/$(VENV)/bin/jlpm
STAMP := $(VENV)/.installed

.PHONY: lab test setup lint lint-ts test-ts build-ext bench clean

# `pip install -e` also builds the JupyterLab extension (labextension/ -> nbtrack/labextension/).
$(STAMP): pyproject.toml labextension/package.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# A previous build's output (its install.json is also listed as shared data) would make pip fail, and would
	# be reused instead of rebuilt from the changed sources.
	rm -rf nbtrack/labextension
	$(PY) -m pip install --quiet -e ".[dev]"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter labextension develop --overwrite .
	touch $(STAMP)

setup: $(STAMP)

# Rebuild the extension after editing labextension/src.
build-ext: setup
	cd labextension && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(JLPM) install && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(JLPM) build:prod

lab: setup
	@mkdir -p notebooks; if [ -f notebooks/quickstart.ipynb ]; then target=quickstart.ipynb; else target=; fi; \
	cd notebooks && NBTRACK_STORE=$${NBTRACK_STORE:-$(CURDIR)/notebooks/.nbtrack} \
	  ../$(PY) -m jupyter lab $$target $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

lint-ts: setup
	cd labextension && $(JLPM) tsc --noEmit && $(JLPM) tsc --noEmit -p tsconfig.test.json && $(JLPM) eslint src --max-warnings=0

# Unit tests of the sidebar's TypeScript (jest; its packages are devDependencies installed by the build).
test-ts: setup
	cd labextension && $(JLPM) jest

lint: setup lint-ts
	$(VENV)/bin/ruff check nbtrack tests benchmarks
	$(VENV)/bin/ruff format --check nbtrack tests benchmarks
	$(VENV)/bin/mypy nbtrack

test: lint test-ts
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/store.py

clean:
	rm -rf $(VENV) build dist nbtrack/labextension labextension/lib labextension/node_modules labextension/coverage
