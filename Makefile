# The two commands a new user needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test typecheck bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# The last line says how to reach the `sluice` command (README, "Use it").
install: $(VENV)/.installed
	@echo "sluice is installed in $(VENV): run '$(BIN)/sluice', or 'source $(BIN)/activate' to type 'sluice'"

run: install
	$(BIN)/sluice up

# Two pytest processes (pytest-xdist); tests that share a worker cluster stay in one of them
# (tests/conftest.py groups them), so each cluster still starts once. PYTEST_WORKERS=0 runs
# everything in one process.
PYTEST_WORKERS ?= 2

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=20

# mypy reads the packages under the names they are installed by (sluice.workers, …): the
# folders are linked under .typecheck/sluice/, which pyproject.toml's [tool.mypy] names.
typecheck: install
	mkdir -p .typecheck/sluice
	for package in workers producers shared cli; do ln -sfn ../../$$package .typecheck/sluice/$$package; done
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.throughput
