# The two commands a newcomer runs: `make run` (set up, train if needed, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/us_sanctions.yaml
PORT ?= 3000

.PHONY: setup setup-scale model run serve test report check

$(BIN)/stance: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 is pinned in pyproject.toml: the CPU build on this machine's disk.
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/stance

# The default install: serving, training, tests. It leaves out Ray (the `scale` extra).
setup: $(BIN)/stance

# Ray Data for `stance predict --engine ray`; `make test` installs it, as the Ray tests need it.
$(BIN)/ray: $(BIN)/stance
	$(BIN)/pip install --quiet -e '.[dev,scale]'
	touch $(BIN)/ray

setup-scale: $(BIN)/ray

model: setup
	@$(BIN)/python -c "import sys; from training.store import has_model; sys.exit(0 if has_model() else 1)" \
		&& echo "model store already holds stance-classifier:latest" \
		|| $(BIN)/stance train --config $(CONFIG)

run: model
	$(BIN)/stance serve --port $(PORT)

serve: setup
	$(BIN)/stance serve --port $(PORT)

test: setup-scale
	$(BIN)/pytest -q

report: setup
	$(BIN)/stance train --config configs/quick.yaml

check: setup
	$(BIN)/stance data check data
	$(BIN)/ruff check cli model training service tests benchmarks
	$(BIN)/mypy
