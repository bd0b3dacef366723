"""The release gate: the sample suites of both tenants and the red-team suite, extractive
mode, must meet the thresholds of ``tests/eval/gates/`` (the ones ``make eval`` gates on).

The thresholds sit a little below the figures measured when they were set; a regression
fails this test with the metric, its value and its floor. The last test proves the gate
bites: one case broken on purpose in a copy of a suite makes the same gate fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval.evaluation import Evaluator
from eval.gate import check, parse_thresholds, read_gate_file
from eval.store import RunRecord
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.conftest import REPO

pytestmark = pytest.mark.slow

SAMPLES = REPO / "samples"
GATES = Path(__file__).parent / "gates"
RUNS = {
    "atlastel": ("atlastel", SAMPLES / "atlastel" / "eval", "atlastel.txt"),
    "yusr": ("yusr", SAMPLES / "yusr" / "eval", "yusr.txt"),
    "redteam@atlastel": ("atlastel", SAMPLES / "redteam.yaml", "redteam.txt"),
    "redteam@yusr": ("yusr", SAMPLES / "redteam.yaml", "redteam.txt"),
    "out-of-domain@atlastel": (
        "atlastel",
        SAMPLES / "precision" / "atlastel.jsonl",
        "precision-ood.txt",
    ),
    "out-of-domain@yusr": ("yusr", SAMPLES / "precision" / "yusr.jsonl", "precision-ood.txt"),
    "manipulation@atlastel": (
        "atlastel",
        SAMPLES / "precision" / "manipulation.jsonl",
        "precision-manipulation.txt",
    ),
    "manipulation@yusr": (
        "yusr",
        SAMPLES / "precision" / "manipulation.jsonl",
        "precision-manipulation.txt",
    ),
    # The suite is for any tenant; make eval runs it on both, the test on one (460 turns).
    "sectors@yusr": ("yusr", SAMPLES / "sectors" / "suite.jsonl", "sectors.txt"),
}


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> Evaluator:
    data = tmp_path_factory.mktemp("eval-samples")
    settings = Settings(
        data_dir=data,
        samples_dir=SAMPLES,
        database_url=None,
        chroma_url=None,
        llm_base_url=None,
        eval_judge_base_url=None,
    )
    container = Container(settings)
    for folder in sample_tenant_dirs(SAMPLES):
        load_sample_tenant(container, folder)
    return container.evaluations


def run(evaluator: Evaluator, tenant: str, path: Path) -> RunRecord:
    target = evaluator.target(tenant)
    suites = evaluator.load(target, [path])
    return evaluator.execute(evaluator.start(target, suites), target, suites)


@pytest.mark.parametrize("name", list(RUNS))
def test_sample_suites_meet_their_gate(
    evaluator: Evaluator, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant, path, gate = RUNS[name]
    record = run(evaluator, tenant, path)
    assert record.status == "done", record.error
    with capsys.disabled():
        figures = ", ".join(f"{k} {v:.3f}" for k, v in record.metrics.items() if "ms" not in k)
        print(f"\n{name}: {figures}")
    failures = check(record.metrics, parse_thresholds(read_gate_file(GATES / gate)))
    assert [str(f) for f in failures] == []


def test_the_gate_fails_when_a_case_is_broken_on_purpose(
    evaluator: Evaluator, tmp_path: Path
) -> None:
    suites = shutil.copytree(SAMPLES / "atlastel" / "eval", tmp_path / "eval")
    answers = suites / "answers.yaml"
    text = answers.read_text(encoding="utf-8")
    # prepaid-fr1's reply gives the recharge code: forbid it instead of requiring it.
    required = 'must_contain: ["*3032*"]'
    assert text.count(required) == 1
    answers.write_text(text.replace(required, 'must_not_contain: ["*3032*"]'), encoding="utf-8")

    record = run(evaluator, "atlastel", suites)
    failures = check(record.metrics, parse_thresholds(read_gate_file(GATES / "atlastel.txt")))
    assert [str(f) for f in failures] == ["must_not_contain_pass_rate: 0.5 is below the minimum 1"]
    broken = next(c for c in record.outcomes if c.id == "prepaid-fr1")
    assert not broken.passed
