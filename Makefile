# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint typecheck unit bench clean ui ui-check screenshots
UI_DIST := metricslib/collector/web/ui/static/dist/index.html
UI_SRC := $(wildcard frontend/src/*) frontend/index.html frontend/build.mjs frontend/package-lock.json

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[collector,test]'
	touch $@

# The UI bundle is built from frontend/ with npm packages pinned by its lockfile.
frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "building the web UI needs Node.js (18 or newer) and npm: install them (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UI_DIST): frontend/node_modules/.installed $(UI_SRC)
	cd frontend && node build.mjs

ui: $(UI_DIST)

ui-check: frontend/node_modules/.installed
	cd frontend && npx tsc --noEmit -p .

demo: $(VENV)/.installed $(UI_DIST)
	$(PY) examples/demo.py

# The pictures in docs/ui.md and docs/dashboards.md (needs chromium and chromium-driver).
screenshots: $(VENV)/.installed $(UI_DIST)
	$(PY) examples/screenshots.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check metricslib tests bench examples

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy metricslib

unit: $(VENV)/.installed $(UI_DIST)
	$(PY) -m pytest

test: lint typecheck ui-check unit

bench: $(VENV)/.installed
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache frontend/node_modules metricslib/collector/web/ui/static/dist
