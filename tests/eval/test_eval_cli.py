"""``rafiq eval run`` as a QA person uses it: exit codes, messages, gates, comparisons, the
report file, JSON for machines, and the same run on a deployment with ``--api``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.app import create_app
from knowledge_base.ingest import ingest
from rafiq.cli import app
from rafiq.cli.output import container
from rafiq.wiring import Container
from tests.live_server import live_server

pytestmark = pytest.mark.slow

SUITE = """\
name: small
tenant: acme
cases:
  - id: pay-fr
    tags: ["language:fr", "topic:billing"]
    turns:
      - text: "Comment payer ma facture ?"
        expect: {action: answer, cite: "faq.md", must_contain: ["virement"]}
  - id: hours-fr
    tags: ["language:fr", "topic:agencies"]
    turns:
      - text: "Quels sont les horaires des agences ?"
        expect: {action: refuse}
"""


@pytest.fixture
def acme(rafiq_env: Path, small_kb: Path) -> Iterator[Container]:
    """The CLI's own container, on the test's data directory, with tenant acme loaded."""
    container.cache_clear()
    built = container()
    built.tenants.create("acme")
    ingest(built.store("acme"), [small_kb], built.ingest_options())
    yield built
    container.cache_clear()


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return path


def rafiq(*args: str) -> Result:
    return CliRunner().invoke(app, ["eval", *args])


def test_a_run_prints_its_figures_and_stores_itself(acme: Container, suite: Path) -> None:
    result = rafiq("run", str(suite), "--tenant", "acme", "--report", "out/report.html")
    assert result.exit_code == 0, result.output
    assert "cases passed" in result.stdout and "50.0 %" in result.stdout
    assert "small/hours-fr: turn 1: action: expected refuse, got answer" in result.stdout
    run_id = result.stdout.split()[1].rstrip(":")
    assert acme.evaluations.store.get(run_id).metrics["case_pass_rate"] == 0.5
    assert "<h1>Evaluation — small</h1>" in Path("out/report.html").read_text(encoding="utf-8")


def test_a_failing_gate_exits_1_naming_each_metric(acme: Container, suite: Path) -> None:
    result = rafiq(
        "run",
        str(suite),
        "--tenant",
        "acme",
        "--fail-under",
        "case_pass_rate=0.9",
        "--fail-under",
        "reply_language_accuracy=1",
    )
    assert result.exit_code == 1
    assert "gate failed (1 of 2 thresholds):" in result.stderr
    assert "case_pass_rate: 0.5 is below the minimum 0.9" in result.stderr
    passing = rafiq("run", str(suite), "--tenant", "acme", "--fail-under", "case_pass_rate=0.5")
    assert passing.exit_code == 0 and "gate passed (1 thresholds)" in passing.stdout


def test_json_output_and_comparison_with_the_last_run(acme: Container, suite: Path) -> None:
    first = rafiq("run", str(suite), "--tenant", "acme", "--json")
    assert first.exit_code == 0
    before = json.loads(first.stdout)
    assert before["run"]["metrics"]["case_pass_rate"] == 0.5
    assert [c["key"] for c in before["failed_cases"]] == ["small/hours-fr"]
    assert before["gate"] == {"passed": True, "thresholds": [], "failures": []}

    # The QA person fixes the expectation: the next run says which case changed.
    suite.write_text(SUITE.replace("{action: refuse}", "{action: answer}"), encoding="utf-8")
    second = rafiq("run", str(suite), "--tenant", "acme", "--compare", "last", "--json")
    after = json.loads(second.stdout)
    comparison = after["comparison"]
    assert comparison["previous_id"] == before["run"]["id"]
    assert comparison["changed"] == [
        {
            "key": "small/hours-fr",
            "before": "failed",
            "after": "passed",
            "detail": "was: turn 1: action: expected refuse, got answer",
        }
    ]
    assert any(n.startswith("other suites: small @ ") for n in comparison["notes"])
    listed = rafiq("runs", "--tenant", "acme")
    assert listed.stdout.splitlines()[0].startswith(after["run"]["id"])


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (
            ["--fail-under", "recall=0.9"],
            "'recall' is not a metric; the metrics are: case_pass_rate",
        ),
        (["--compare", "run_nope"], "--compare: no evaluation run 'run_nope'"),
        (["--tenant", "nobody"], "nobody"),
    ],
)
def test_usage_errors_exit_2(acme: Container, suite: Path, extra: list[str], words: str) -> None:
    args = ["run", str(suite), "--tenant", "acme", *extra]
    result = rafiq(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and words in result.stderr


def test_a_bad_suite_exits_2_with_every_problem(acme: Container, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SUITE.replace("action: answer", "action: anser").replace("must_contain", "must_contian")
    )
    result = rafiq("run", str(bad), "--tenant", "acme")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid suite (2 problems):")
    assert (
        f"{bad}:4: case \"pay-fr\" turn 1: expect.action[0]: 'anser' is not allowed"
        in result.stderr
    )
    assert "unknown key 'must_contian' (did you mean 'must_contain'?)" in result.stderr


def test_a_suite_of_another_tenant_exits_2(acme: Container, suite: Path) -> None:
    acme.tenants.create("globex")
    result = rafiq("run", str(suite), "--tenant", "globex")
    assert result.exit_code == 2
    assert "suite small (tenant acme) was written for another tenant than 'globex'" in result.stderr


def test_the_same_run_on_a_deployment(acme: Container, suite: Path) -> None:
    qa = acme.tenants.create_user("acme", "qa").token
    with live_server(create_app(acme)) as url:
        result = rafiq(
            "run",
            str(suite),
            "--tenant",
            "acme",
            "--api",
            url,
            "--token",
            qa,
            "--fail-under",
            "case_pass_rate=0.9",
            "--json",
        )
        wrong_tenant = rafiq("run", str(suite), "--tenant", "globex", "--api", url, "--token", qa)
        no_token = rafiq("run", str(suite), "--tenant", "acme", "--api", url, "--token", "st_nope")
    assert result.exit_code == 1, result.output
    output = json.loads(result.stdout)
    assert output["run"]["tenant"] == "acme" and output["run"]["metrics"]["case_pass_rate"] == 0.5
    assert output["gate"]["failures"] == ["case_pass_rate: 0.5 is below the minimum 0.9"]
    assert acme.evaluations.store.get(output["run"]["id"], "acme").status == "done"
    assert wrong_tenant.exit_code == 2
    assert "the token belongs to tenant 'acme', not 'globex'" in wrong_tenant.stderr
    assert no_token.exit_code == 2 and "401 unauthorized" in no_token.stderr


def test_a_stored_run_gets_its_report_later(acme: Container, suite: Path) -> None:
    first = json.loads(rafiq("run", str(suite), "--tenant", "acme", "--json").stdout)
    second = json.loads(rafiq("run", str(suite), "--tenant", "acme", "--json").stdout)
    result = rafiq("report", second["run"]["id"], "--compare", "last", "-o", "again.html")
    assert result.exit_code == 0, result.output
    page = Path("again.html").read_text(encoding="utf-8")
    assert f"Compared with {first['run']['id']}" in page
    missing = rafiq("report", "run_nope", "-o", "x.html")
    assert missing.exit_code == 2 and "no evaluation run 'run_nope'" in missing.stderr


def test_load_samples_loads_each_sample_tenant(
    rafiq_env: Path, small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = tmp_path / "samples"
    (samples / "demo").mkdir(parents=True)
    (samples / "demo" / "tenant.yaml").write_text("name: demo\narabizi_reply_language: ar\n")
    shutil.copytree(small_kb, samples / "demo" / "kb")
    monkeypatch.setenv("RAFIQ_SAMPLES_DIR", str(samples))
    container.cache_clear()
    try:
        result = rafiq("load-samples", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"tenants": ["demo"]}
        assert container().eval_target("demo").arabizi_reply == "ar"
    finally:
        container.cache_clear()
