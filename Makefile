# Commands that work on a fresh machine: `make demo`, `make iot` and `make test`.
# Each creates .venv and installs gress into it (editable, with the dev tools) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FRAUD := examples/fraud
IOT := examples/iot

.PHONY: demo iot test lint bench clean

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

# The IoT example: sensors, device configuration (a lookup), a join, windows, absences and
# timeouts; files in, alerts out (timeouts too: the reboots that did not come back).
iot: $(STAMP)
	$(BIN)/gress check $(IOT)/iot.gress
	$(BIN)/gress detect $(IOT)/iot.gress \
	    -i temperature=$(IOT)/temperature.jsonl -i humidity=$(IOT)/humidity.jsonl \
	    -i heartbeats=$(IOT)/heartbeats.jsonl -i devices=$(IOT)/devices.jsonl --timeouts -

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
	$(BIN)/python benchmarks/windows.py
	$(BIN)/python benchmarks/joins.py
	$(BIN)/python benchmarks/diff.py

clean:
	rm -rf $(VENV) .gress .pytest_cache .ruff_cache .mypy_cache
