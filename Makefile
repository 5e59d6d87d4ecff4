# The two set-up commands users run: `make demo` and `make test`. Each creates .venv and installs.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck check-examples docs bench bench-smoke bench-scoring bench-readers bench-sim-scale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/costaudit analyze examples/logs/
	$(BIN)/costaudit analyze examples/logs/ --group-by feature --output html --out demo-report.html
	@echo "HTML report: $(CURDIR)/demo-report.html (open it in a browser; it needs no network)"

# The suite runs on every core (pytest-xdist); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/costaudit check --scenario examples/ci/costaudit.yaml --baseline examples/ci/costaudit-baseline.json --max-increase 1%

# Benchmarks (bench/README.md): not part of `make test`, which runs only tests/test_bench_smoke.py.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]' && $(BIN)/python bench/run.py

bench-smoke: $(STAMP)
	$(BIN)/python bench/run.py --quick

# What complexity scoring costs next to tokenizing and to analyze (bench/README.md, "Complexity scoring").
bench-scoring: $(STAMP)
	$(BIN)/python bench/scoring_share.py --write-readme

# Every JSON-lines reader at 10^5 records next to the orjson loop (bench/README.md, "Every reader").
bench-readers: $(STAMP)
	$(BIN)/python bench/readers.py --write-readme

# simulate on saved workloads of 10^6 and 10^7 requests (bench/README.md, "Simulate at scale"):
# tens of minutes and several GB, so never part of `make bench`.
bench-sim-scale: $(STAMP)
	$(BIN)/python bench/sim_scale.py measure --requests 1000000
	$(BIN)/python bench/sim_scale.py measure --requests 10000000

clean:
	rm -rf $(VENV) build dist
