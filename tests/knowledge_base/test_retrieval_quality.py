"""Retrieval quality on the sample tenants' labelled query sets.

Target (issue 3): recall@3 >= 0.90 overall and >= 0.80 for Darija and for Arabizi.
The floors below are today's measured figures less a small margin: they catch a
regression; the target is tracked in the closing note until it is reached. The ``dev``
sets were used to build the lexicons; the ``holdout`` sets were written separately and
are never used for tuning, so their figures say how retrieval generalises.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.retrieval import QueryOutcome, format_table, recall_table
from eval.retrieval_report import evaluate_samples
from tests.conftest import REPO

pytestmark = pytest.mark.slow

FLOORS_AT_3 = {
    "dev": {"overall": 0.85, "darija": 0.84, "arabizi": 0.85},
    "holdout": {"overall": 0.82, "darija": 0.79, "arabizi": 0.79},
}
CROSSLINGUAL_FLOORS_AT_3 = {"dev": 0.85, "holdout": 0.70}


@pytest.fixture(scope="module", params=["dev", "holdout"])
def query_set(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, query_set: str) -> list[QueryOutcome]:
    results = evaluate_samples(
        REPO / "samples", tmp_path_factory.mktemp("recall"), query_set=query_set
    )
    assert set(results) == {"atlastel", "yusr"}
    return [o for tenant in results.values() for o in tenant]


def test_sample_sets_are_large_and_cover_every_language(
    outcomes: list[QueryOutcome], query_set: str
) -> None:
    by_language = {row.group: row.n for row in recall_table(outcomes)}
    assert by_language["overall"] >= (240 if query_set == "dev" else 120)
    for language in ("fr", "ar", "darija", "arabizi", "en"):
        assert by_language[language] >= (40 if query_set == "dev" else 24), language


def test_recall_at_3_per_language(
    outcomes: list[QueryOutcome], query_set: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = {row.group: row for row in recall_table(outcomes)}
    with capsys.disabled():
        title = f"retrieval recall, sample tenants, {query_set} set"
        print("\n" + format_table(list(rows.values()), title))
    for group, floor in FLOORS_AT_3[query_set].items():
        assert rows[group].recall_at_3 >= floor, f"{group}: {rows[group].recall_at_3:.3f} < {floor}"


def test_answers_are_found_whatever_the_language_of_the_document(
    outcomes: list[QueryOutcome], query_set: str
) -> None:
    crosslingual = [o for o in outcomes if o.query.kind == "crosslingual"]
    found = sum(1 for o in crosslingual if o.rank is not None and o.rank <= 3)
    assert len(crosslingual) >= 30
    assert found / len(crosslingual) >= CROSSLINGUAL_FLOORS_AT_3[query_set]


def test_a_sample_tenant_without_a_query_set_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "t1").mkdir()
    (tmp_path / "t1" / "tenant.yaml").write_text("name: t1\n", encoding="utf-8")
    (tmp_path / "t1" / "kb").mkdir()
    (tmp_path / "t1" / "kb" / "faq.md").write_text("## Q ?\nA.\n", encoding="utf-8")
    assert evaluate_samples(tmp_path, tmp_path / "data") == {}
