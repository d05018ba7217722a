# Every target bootstraps .venv from the project's own files, so a fresh clone needs
# nothing but Python 3.11+ (and, for the PDF report later, Debian's Pango).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test bench lint format clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The sample cluster against its PCI DSS scope, as of a fixed moment so the output is
# reproducible; --exit-zero because the sample is built to have findings.
demo: venv
	$(BIN)/compliance evaluate samples/shop-cluster --scope samples/pci-dss.scope.yaml \
		--as-of 2026-11-26T00:00:00Z --exit-zero

test: venv
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python benchmarks/run.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis benchmarks/out
