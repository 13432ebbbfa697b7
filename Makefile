# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The benchmarks measure the build that ships: the hot path compiled with mypyc (setup.py).
COMPILED := .venv-compiled
COMPILED_STAMP := $(COMPILED)/.installed
SOURCES := $(shell find gateway parsers mappings outbound -name '*.py')
# What the compiled build needs before it starts: the `compile` extra of pyproject.toml, and
# the runtime dependencies, since mypyc type-checks every module the compiled ones import;
# and the `bench` extra, the baselines `make bench` measures against.
export COMPILE_REQUIREMENTS := import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	print("\n".join(p["dependencies"] + p["optional-dependencies"]["compile"] \
	+ p["optional-dependencies"]["bench"]))

.PHONY: demo test lint bench bench-plain clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gateway demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

$(COMPILED_STAMP): pyproject.toml setup.py $(SOURCES)
	rm -rf build
	$(PYTHON) -m venv $(COMPILED)
	$(COMPILED)/bin/python -m pip install --quiet --upgrade pip
	$(COMPILED)/bin/python -c "$$COMPILE_REQUIREMENTS" > $(COMPILED)/compile-requirements.txt
	$(COMPILED)/bin/python -m pip install --quiet -r $(COMPILED)/compile-requirements.txt
	GATEWAY_MYPYC=1 $(COMPILED)/bin/python -m pip install --quiet --no-build-isolation .
	rm -rf build
	touch $(COMPILED_STAMP)

bench: $(COMPILED_STAMP)
	$(COMPILED)/bin/gateway bench parse
	$(COMPILED)/bin/gateway bench parse --dialects
	$(COMPILED)/bin/gateway bench reconcile
	$(COMPILED)/bin/gateway bench pipeline
	$(COMPILED)/bin/gateway bench smtp
	$(COMPILED)/bin/gateway bench xlsx
	$(COMPILED)/bin/gateway bench reading
	$(COMPILED)/bin/gateway bench as2

bench-plain: $(STAMP)
	$(BIN)/gateway bench parse
	$(BIN)/gateway bench parse --dialects
	$(BIN)/gateway bench reconcile
	$(BIN)/gateway bench pipeline
	$(BIN)/gateway bench smtp
	$(BIN)/gateway bench xlsx
	$(BIN)/gateway bench reading
	$(BIN)/gateway bench as2

clean:
	rm -rf $(VENV) $(COMPILED) build var .pytest_cache .mypy_cache .ruff_cache
