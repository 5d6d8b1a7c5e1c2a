# riskcard: every target creates the virtual environment itself when it is missing.
# Only Python 3.11 is needed on the machine; uv is installed with pip when it is not there.
# `python -m uv pip install` targets the interpreter that ran it unless told otherwise: always pass --python.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV      = $(PYTHON) -m uv

.PHONY: setup demo test lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"riskcard needs Python 3.11, found {sys.version.split()[0]} (set PYTHON=...)"'
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv with exactly the locked dependencies

demo: $(STAMP)   ## generate demo logs and run the whole pipeline through Airflow; prints the scorecard
	$(BIN)/python -m transforms.demo

test: $(STAMP)   ## the test suite (CI runs this)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check transforms dags tests benchmarks
	$(BIN)/ruff format --check transforms dags tests benchmarks

bench: $(STAMP)  ## speed and memory figures (prints measured numbers and ratios)
	$(BIN)/python -m benchmarks

lock:            ## re-resolve requirements.lock after changing pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) warehouse/*.duckdb* warehouse/published warehouse/serving warehouse/data_docs landing .pytest_cache
