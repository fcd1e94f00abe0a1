# litkg: every target sets up .venv itself (idempotent, cheap when up to date).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup java run build ingest test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch is pinned to the CPU build first so sentence-transformers does not pull a CUDA build.
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP) java

# Java 17 for the Spark bulk job (`litkg bulk`): apt-get installs it when `java` is missing.
java:
	@bash .ci/install-java

ingest: setup
	$(VENV)/bin/litkg ingest

build: setup
	$(VENV)/bin/litkg build

# The app's port: `make run LITKG_APP_PORT=8600` (or the variable in the environment).
LITKG_APP_PORT ?= 8501

# Online, the ingest fetches from S2 as usual. Offline, it says in one line that S2 is
# unreachable and keeps the seed page's papers as local papers (text only); then the
# bundled starter snapshot (data/starter/) goes into a corpus that holds nothing else
# (never over one you built), so the build (which reuses its vectors) and the app work.
run: setup
	$(VENV)/bin/litkg ingest --fallback-offline || $(VENV)/bin/litkg status
	$(VENV)/bin/litkg snapshot starter
	$(VENV)/bin/litkg build
	$(VENV)/bin/litkg app --port $(LITKG_APP_PORT)

test: setup lint
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
