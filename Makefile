# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 5000
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
ONLY   ?=

.PHONY: install run test lint lock bench fuzz worker sweeper deploy prod-up prod-down clean

# every Python package, transitive ones included, exactly as the lock files say (with hashes)
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# front-end libraries (bpmn-js, dmn-js, the properties panel, json-editor; esbuild) from the npm registry,
# exactly as the lock file says
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json 2>/dev/null | sha1sum | cut -c1-12)

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else \
	  echo "npm not found: task forms fall back to JSON and diagrams are not drawn (install nodejs + npm, then make install)" >&2; \
	fi

# the editors' bundle (bpmn-js Modeler + properties panel, which ship ES modules only), built by esbuild from npm
# into the gitignored build/editors/ and served by webui/pages/assets.py; rebuilt when its sources or the lock change
EDITOR_BUNDLE  := build/editors/bpmn-modeler.js
EDITOR_SOURCES := $(wildcard webui/static/editors/*.mjs webui/static/editors/*.json)

$(EDITOR_BUNDLE): $(NODE_STAMP) $(EDITOR_SOURCES)
	@if [ -x node_modules/.bin/esbuild ]; then \
	  npm run --silent build:editors; \
	else \
	  echo "esbuild not installed (npm ci): the process owners' diagram editor is not built" >&2; \
	fi

install: $(STAMP) $(if $(wildcard package-lock.json),$(NODE_STAMP) $(EDITOR_BUNDLE))

## make run: embedded default (SQLite + in-process worker + demo users) on 127.0.0.1:$(PORT)
run: install
	PORT=$(PORT) $(PY) -m webui

## make test: lint and type checks, then the whole suite, on SQLite and (where reachable) PostgreSQL + Redis:
## first on every core (pytest-xdist, a file per worker at a time), then, one at a time, the tests
## whose promises are time limits for an idle machine (marker `alone`); each part prints its slowest
## tests. TEST_WORKERS=0 runs the first part in this one process. (Exit code 5 is "nothing selected", as
## when PYTEST_ARGS names a file with no timed test.)
TEST_WORKERS ?= 2
test: install lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not alone" --durations=20 $(PYTEST_ARGS)
	$(PY) -m pytest -q -m alone --durations=10 $(PYTEST_ARGS) || [ $$? -eq 5 ]

## make lint: ruff (lint and import order) and mypy (engine/)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## make lock: regenerate the lock files from requirements.in / requirements-dev.in (needs pip-tools)
lock:
	test -x $(VENV)/bin/pip-compile || $(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links -o requirements-dev.txt requirements-dev.in

## make bench [ONLY=name]: every benchmark in bench/ (or one), printing one summary line each
bench: install
	@for f in bench/*.py; do \
	  name=$$(basename $$f .py); \
	  if [ -z "$(ONLY)" ] || [ "$(ONLY)" = "$$name" ]; then $(PY) $$f || exit 1; fi; \
	done

## make fuzz [FUZZ_EXAMPLES=n]: the API fuzzing of tests/fuzz, longer than the short pass inside `make test`
## (n generated requests per operation and generation mode, each sent as every demo user and without credentials)
FUZZ_EXAMPLES ?= 200
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/fuzz

## production-style processes (DATABASE_URL / REDIS_URL from the environment)
worker: install
	$(VENV)/bin/dramatiq tasks.worker --processes 1 --threads 4

sweeper: install
	$(VENV)/bin/periodiq tasks.worker

deploy: install
	$(PY) -m webui.cli deploy

## make prod-up / prod-down: the production topology without Docker (PostgreSQL + Redis running;
## DATABASE_URL, REDIS_URL, PORT, WORKERS from the environment; see docker/prodctl.py)
prod-up: install
	docker/prod-up.sh

prod-down:
	docker/prod-down.sh

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache node_modules build
