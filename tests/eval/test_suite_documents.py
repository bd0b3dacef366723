"""A suite sent as data (the HTTP API) is validated like a file and loads into the same
suite, version included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.suite import SuiteError, load_suite, parse_suite, suite_document, suite_files
from tests.conftest import REPO


@pytest.mark.parametrize(
    "path",
    [*suite_files(REPO / "samples" / "atlastel" / "eval"), REPO / "samples" / "redteam.yaml"],
)
def test_every_sample_suite_survives_the_trip_through_json(path: Path) -> None:
    suite = load_suite(path)
    document = json.loads(json.dumps(suite_document(suite), ensure_ascii=False))
    assert parse_suite(document, "suite") == suite


def test_problems_of_a_suite_sent_as_data_name_it() -> None:
    document = {"name": "x", "cases": [{"id": "a b", "tags": ["language:fr"], "turns": []}]}
    with pytest.raises(SuiteError) as error:
        parse_suite(document, "suite[1]")
    assert error.value.problems == (
        "suite[1]: case \"a b\": id: 'a b': use letters, digits and . _ : - (no spaces)",
        'suite[1]: case "a b": turns: a case needs at least one customer turn',
    )
