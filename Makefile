# riskcard: every target creates the virtual environment itself when it is missing.
# Only Python 3.11 (with its venv module) is needed on the machine. Nothing is installed into the system interpreter
# (Debian and Ubuntu refuse that, PEP 668): .venv is made with `python -m venv`, then uv is installed inside it (the
# venv's own pip is the fallback when uv cannot be had). `uv pip install` is always given --python $(BIN)/python.
# Packages are byte-compiled at install (--compile-bytecode; pip does it by default): where PYTHONDONTWRITEBYTECODE
# is set, as on CI, every process would otherwise compile dbt and Airflow from source again, seconds per start.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV      = $(BIN)/python -m uv

.PHONY: setup demo test system-deps lint bench lock clean

$(STAMP): requirements.lock pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"riskcard needs Python 3.11, found {sys.version.split()[0]} (set PYTHON=...)"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		echo "could not create $(VENV): on Debian/Ubuntu install the venv module first (apt-get install python3-venv)"; \
		rm -rf $(VENV); exit 1; }
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade --default-pip >/dev/null
	@$(UV) --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv \
		|| echo "uv is not available: installing with the venv's pip"
	@if $(UV) --version >/dev/null 2>&1; then \
		$(UV) pip install --quiet --python $(BIN)/python --compile-bytecode --require-hashes -r requirements.lock && \
		$(UV) pip install --quiet --python $(BIN)/python --no-deps -e . ; \
	else \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock && \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . ; \
	fi
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv with exactly the locked dependencies

demo: $(STAMP)   ## generate demo logs and run the whole pipeline through Airflow; prints the scorecard
	$(BIN)/python -m transforms.demo

test: $(STAMP) system-deps  ## the test suite (CI runs this): one worker per CPU, each test module kept on one worker
	$(BIN)/python -m pytest -n auto --dist loadfile

# Debian's packages for the browser and PDF tests: headless Chromium (driven by playwright, which downloads no browser
# of its own), pdftotext, a CJK font and pango (WeasyPrint's text layout, for the PDF report). Installed with apt-get
# only when one is missing (root, or `sudo -n`); quiet
# when all are there. When they cannot be installed it says which tests will skip, and `make test` goes on.
SYSTEM_DEBS := chromium poppler-utils fonts-wqy-zenhei libpango-1.0-0 libpangoft2-1.0-0
system-deps:     ## install chromium, poppler-utils, fonts-wqy-zenhei and pango (WeasyPrint) through apt when missing
	@missing() { \
		test -x /usr/bin/chromium || echo "chromium (the browser tests: Data Docs offline, HTML reports)"; \
		test -x /usr/bin/pdftotext || echo "poppler-utils (the PDF text tests: pdftotext)"; \
		fc-list :lang=zh 2>/dev/null | grep -q . || echo "a CJK font (the tests that render Chinese text)"; \
		/sbin/ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || echo "pango (WeasyPrint: the PDF report)"; \
	}; \
	test -z "$$(missing)" && exit 0; \
	if [ "$$(id -u)" = 0 ]; then as=""; elif command -v sudo >/dev/null 2>&1; then as="sudo -n"; else as="no"; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "cannot install $(SYSTEM_DEBS): no apt-get on this machine (install them by hand)"; \
	elif [ "$$as" = no ]; then \
		echo "cannot install $(SYSTEM_DEBS): not root and no sudo (run 'make system-deps' as root)"; \
	else \
		echo "installing Debian packages for the browser and PDF tests: $(SYSTEM_DEBS)"; \
		$$as env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		$$as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_DEBS) \
			>/dev/null || echo "apt-get could not install $(SYSTEM_DEBS)"; \
	fi; \
	missing | while read -r what; do echo "MISSING $$what: those tests will be SKIPPED"; done

lint: $(STAMP)
	$(BIN)/ruff check transforms dags tests benchmarks
	$(BIN)/ruff format --check transforms dags tests benchmarks

bench: $(STAMP)  ## speed and memory figures (prints measured numbers and ratios)
	$(BIN)/python -m benchmarks

lock: $(STAMP)    ## re-resolve requirements.lock after changing pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) warehouse/*.duckdb* warehouse/published warehouse/serving warehouse/data_docs landing .pytest_cache
