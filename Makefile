# Two set-up commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gress check examples/fraud/fraud.gress
	$(BIN)/gress explain examples/fraud/fraud.gress

test: $(STAMP)
	$(BIN)/ruff check gress_cep tests benchmarks
	$(BIN)/ruff format --check gress_cep tests benchmarks
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check gress_cep tests benchmarks
	$(BIN)/ruff format --check gress_cep tests benchmarks
	$(BIN)/mypy gress_cep

bench: $(STAMP)
	$(BIN)/python benchmarks/cep_throughput.py

clean:
	rm -rf $(VENV) .gress .pytest_cache
