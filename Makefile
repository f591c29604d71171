# The two quick-start commands: `make serve` and `make test`.
# Both need only Python 3.11+ and make: they bootstrap a pinned uv into .tools/
# and install the exact versions in uv.lock into .venv/.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: serve test install install-dev lint bench bench-tiny clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --no-dev

install-dev: $(UV)
	$(UV) sync --frozen --all-groups

## Install and serve the API on the seed data (SQLite by default) at http://127.0.0.1:8000
serve: install
	.venv/bin/pubapi serve

## Install and run the whole test suite (lint, types, tests on SQLite and PostgreSQL)
test: install-dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest --cov=app --cov-report=term:skip-covered

## The benchmark against Datasette at a million publications (about 70 minutes; needs wrk)
bench: install-dev
	.venv/bin/python -m bench.run --size 1000000 --engines sqlite,postgresql --duration 5 --rounds 3

## The same at 2,000 publications, one short round (about 2 minutes): does it still run?
bench-tiny: install-dev
	.venv/bin/python -m bench.run --size 2000 --duration 1 --rounds 1 --out bench/.work/RESULTS-tiny.md

clean:
	rm -rf .tools .venv .pytest_cache .mypy_cache .ruff_cache
