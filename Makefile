# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 5000
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
ONLY   ?=

.PHONY: install run test test-fast bench worker sweeper deploy clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## make run: embedded default (SQLite + in-process worker + demo users) on 127.0.0.1:$(PORT)
run: install
	PORT=$(PORT) $(PY) -m webui

## make test: the whole suite, on SQLite and (where reachable) PostgreSQL + Redis
test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

## make bench [ONLY=name]: every benchmark in bench/ (or one), printing one summary line each
bench: install
	@for f in bench/*.py; do \
	  name=$$(basename $$f .py); \
	  if [ -z "$(ONLY)" ] || [ "$(ONLY)" = "$$name" ]; then $(PY) $$f || exit 1; fi; \
	done

## production-style processes (DATABASE_URL / REDIS_URL from the environment)
worker: install
	$(VENV)/bin/dramatiq tasks.worker --processes 1 --threads 4

sweeper: install
	$(VENV)/bin/periodiq tasks.worker

deploy: install
	$(PY) -m webui.cli deploy

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache
