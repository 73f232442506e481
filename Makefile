# The two commands a newcomer needs: `make run` and `make test` (SPEC §3.1).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint format venv migrate bench clean

# (Re)install when pyproject.toml changes; the stamp keeps repeated runs fast.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0

run: migrate
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# pytest exits 5 when it collected nothing: a suite that ran no test is a failure here.
test: lint
	$(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Issue 9's performance goals, measured on this machine against PostgreSQL + Redis (a fresh
# csms_bench database, Redis db 11): prints one table and writes docs/benchmarks.md.
bench: venv
	$(PY) -m benchmarks.bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
