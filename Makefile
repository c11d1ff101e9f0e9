# Two entry points: `make demo` and `make test`. Both set up everything they need on a machine with
# Python 3.11 and make: uv is bootstrapped into .tools/ when it is not on PATH.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_LINK_MODE ?= copy

.PHONY: demo test lint bench serve install chromium

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

# --compile-bytecode: the libraries' bytecode is written once here, so even the first command (and every command
# where PYTHONDONTWRITEBYTECODE is set) starts from compiled modules; see bench/cli_times.py.
.venv/.installed: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --compile-bytecode
	touch $@

install: .venv/.installed

demo: install
	.venv/bin/impwatch demo

serve: install
	.venv/bin/impwatch serve

# The console's browser tests drive Debian's Chromium (no browser download); installed here when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

# Two pytest processes (pytest-xdist), each taking whole test files: module fixtures stay shared within a file.
test: install chromium
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .

bench: install
	.venv/bin/python bench/scan_photos.py
	.venv/bin/python bench/console_inbox.py
