# Rafiq — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt bench eval eval-retrieval venv clean

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

# make eval: the sample suites in extractive mode, gated on tests/eval/gates/*.txt (the same
# gate as tests/eval/test_sample_suites.py). Runs are kept in var/eval, so each one is
# compared with the previous; HTML reports land next to them.
EVAL_DATA := var/eval
EVAL_ENV  := RAFIQ_DATA_DIR=$(EVAL_DATA) RAFIQ_DATABASE_URL= RAFIQ_CHROMA_URL= \
	RAFIQ_LLM_BASE_URL= RAFIQ_EVAL_JUDGE_BASE_URL= RAFIQ_SAMPLES_DIR=samples
EVAL_RUNS := atlastel:samples/atlastel/eval:atlastel yusr:samples/yusr/eval:yusr \
	atlastel:samples/redteam.yaml:redteam yusr:samples/redteam.yaml:redteam \
	atlastel:samples/precision/atlastel.jsonl:precision-ood yusr:samples/precision/yusr.jsonl:precision-ood \
	atlastel:samples/precision/manipulation.jsonl:precision-manipulation \
	yusr:samples/precision/manipulation.jsonl:precision-manipulation \
	atlastel:samples/sectors/suite.jsonl:sectors yusr:samples/sectors/suite.jsonl:sectors

eval: venv  ## sample suites of both tenants + red team, extractive, gated; reports in var/eval/
	$(EVAL_ENV) $(VENV)/bin/rafiq eval load-samples
	@status=0; for run in $(EVAL_RUNS); do \
		tenant=$${run%%:*}; rest=$${run#*:}; suite=$${rest%%:*}; gate=$${rest#*:}; \
		echo "== $$suite on $$tenant"; \
		$(EVAL_ENV) $(VENV)/bin/rafiq eval run $$suite --tenant $$tenant --compare last \
			--gates tests/eval/gates/$$gate.txt --report $(EVAL_DATA)/$$gate-$$tenant.html \
			|| status=1; \
	done; exit $$status

eval-retrieval: venv  ## recall tables of the sample retrieval sets
	$(PY) -m eval.retrieval_report $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
