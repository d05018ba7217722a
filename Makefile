# Every target bootstraps .venv from the project's own files, so a fresh clone needs
# nothing but Python 3.11+ and, for the PDF, Pango (Debian: libpango-1.0-0
# libpangoft2-1.0-0), which `make` installs with apt-get when it is missing and it can.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# WeasyPrint's system libraries (harfbuzz-subset is optional: faster font subsetting), and
# ssh-keygen for signing packs.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 openssh-client

.PHONY: venv system-libs bytecode demo test bench lint format clean

venv: $(STAMP)

# Pango must be loadable for the PDF; install the Debian packages when they are missing
# and apt-get can run (as root, or with sudo), otherwise say what to install.
system-libs:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
		echo "installing Debian packages:$$missing"; \
		{ $$SUDO apt-get install -y -q $$missing >/dev/null 2>&1 || \
		  { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q $$missing >/dev/null 2>&1; }; } || \
		echo "warning: could not install$$missing; the PDF needs Pango: apt-get install $(DEBIAN_PACKAGES)"; \
	fi

$(STAMP): pyproject.toml | system-libs
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The evidence pack for the sample cluster and its PCI DSS scope, as of a fixed moment so
# the files are reproducible; --exit-zero because the sample is built to have findings.
demo: venv system-libs bytecode
	$(BIN)/compliance report samples/shop-cluster --scope samples/pci-dss.scope.yaml \
		--as-of 2026-11-26T00:00:00Z --out evidence --force --exit-zero \
		--probe-plan samples/probes/plan.json --probe-results samples/probes/probe-results.csv \
		--flow-log samples/flows/hubble.jsonl --flow-log samples/flows/calico-flows.jsonl
	$(BIN)/compliance report samples/shop-cluster-q2 --scope samples/pci-dss-q2.scope.yaml \
		--as-of 2027-03-01T00:00:00Z --out evidence-q2 --force --exit-zero --baseline evidence
	$(BIN)/compliance diff evidence evidence-q2 --exit-zero
	$(BIN)/compliance history evidence evidence-q2

# Compiled once here rather than at every start: an environment may set
# PYTHONDONTWRITEBYTECODE, and the tests and benchmarks start the CLI hundreds of times.
bytecode: venv
	@$(BIN)/python -m compileall -q compliance >/dev/null

# pytest keeps each test module as rewritten for its asserts in __pycache__ unless told not
# to write bytecode; with the cache, collecting takes a third of the time in every worker.
test: venv system-libs bytecode
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n auto

bench: venv bytecode
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
	find compliance tests benchmarks -name __pycache__ -prune -exec rm -rf {} +
