# Two commands do all set-up on a fresh machine: `make demo` and `make check`.
# python3.11 if it is there, else python3 (which must then be 3.11 or newer)
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-reset demo-google docs test check lint format typecheck install clean lock pictures bench

$(STAMP): pyproject.toml requirements/lock.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "Python 3.11 or newer is needed: install python3.11, or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/pip install --quiet --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@mkdir -p var/demo
	@test -f var/demo/responses.csv || cp examples/responses.csv var/demo/responses.csv
	$(BIN)/cluster-sync --config config/demo.toml sync

# The demo from the start again, without reinstalling: its state, files, outbox, log and its
# copy of the example responses (var/demo/) are removed, then `make demo` runs.
demo-reset: $(STAMP)
	rm -rf var/demo
	@$(MAKE) --no-print-directory demo

# The Google path without a Google account: a local fake of the Sheets API on loopback, loaded
# with the example responses; runs `check` and `sync` against it and prints the sheet after.
demo-google: $(STAMP)
	$(BIN)/python examples/demo_google.py

# The pictures in README.md and docs/: a demo factsheet and two pages of the demo CoP report,
# rendered with LibreOffice (needs soffice and poppler-utils).
pictures: demo
	$(BIN)/python templates/make_pictures.py

# docs/cli.md, the command reference, from the commands' --help (a test fails when it is stale)
docs: $(STAMP)
	$(BIN)/python -m cluster_sync.cli.reference > docs/cli.md

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check cluster_sync tests benchmarks examples templates

format: $(STAMP)
	$(BIN)/ruff format cluster_sync tests benchmarks examples templates

typecheck: $(STAMP)
	$(BIN)/mypy

check: $(STAMP)
	$(BIN)/ruff check cluster_sync tests benchmarks examples templates
	$(BIN)/ruff format --check cluster_sync tests benchmarks examples templates
	$(BIN)/mypy
	$(BIN)/pytest -q

# Every benchmark in benchmarks/, written into docs/benchmarks.md with the machine it ran on.
# About 6 minutes on a 2-core machine; BENCH_ARGS="--sizes 100 1000 10000" adds the 10,000-row
# sync (about 20 minutes more).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_all.py $(BENCH_ARGS)

# Regenerate the pinned lock file from pyproject.toml (needs network access to the package index).
lock:
	$(PYTHON) -m venv /tmp/cluster-sync-lock
	/tmp/cluster-sync-lock/bin/pip install --quiet ".[dev]"
	/tmp/cluster-sync-lock/bin/pip freeze --exclude cluster-sync > requirements/lock.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
