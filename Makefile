# Two set-up commands work on a fresh machine: `make demo` and `make test`.
# Both create .venv and install gress into it (editable, with the dev tools) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FRAUD := examples/fraud

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job on embedded defaults: files in, matches out (a live table on a terminal).
demo: $(STAMP)
	$(BIN)/gress check $(FRAUD)/fraud.gress
	$(BIN)/gress detect $(FRAUD)/fraud.gress \
	    -i payments=$(FRAUD)/payments.jsonl -i logins=$(FRAUD)/logins.jsonl

test: $(STAMP)
	$(BIN)/ruff check gress_cep tests benchmarks examples
	$(BIN)/ruff format --check gress_cep tests benchmarks examples
	$(BIN)/mypy gress_cep
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check gress_cep tests benchmarks examples
	$(BIN)/ruff format --check gress_cep tests benchmarks examples
	$(BIN)/mypy gress_cep

bench: $(STAMP)
	$(BIN)/python benchmarks/cep_throughput.py
	$(BIN)/python benchmarks/checkpoint_overhead.py
	$(BIN)/python benchmarks/decode_throughput.py
	$(BIN)/python benchmarks/score_throughput.py
	$(BIN)/python benchmarks/state_ops.py
	$(BIN)/python benchmarks/kafka_throughput.py

clean:
	rm -rf $(VENV) .gress .pytest_cache .ruff_cache .mypy_cache
