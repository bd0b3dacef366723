# Rafiq — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt bench eval-retrieval venv clean

# The venv is rebuilt only when the lock file or the project metadata change.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

run: venv  ## load the sample tenants and start the server
	$(VENV)/bin/rafiq demo

test: venv  ## the whole test suite
	$(PY) -m pytest

lint: venv  ## ruff + mypy (strict)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: venv  ## benchmarks, results in bench/results/
	$(PY) -m bench.retrieval
	$(PY) -m bench.embeddings
	$(PY) -m bench.turn
	$(PY) -m bench.api

eval-retrieval: venv  ## recall tables of the sample retrieval sets
	$(PY) -m eval.retrieval_report $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
