"""The QA routes: a qa user starts a run of their tenant, lists runs as the console
expects them, reads one and its report; other tenants and other roles see nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from eval.store import new_record
from knowledge_base.ingest import ingest
from rafiq.settings import Settings
from rafiq.wiring import Container

pytestmark = pytest.mark.slow

SUITE: dict[str, Any] = {
    "name": "small",
    "tenant": "acme",
    "cases": [
        {
            "id": "pay-fr",
            "tags": ["language:fr"],
            "turns": [
                {
                    "text": "Comment payer ma facture ?",
                    "expect": {"action": "answer", "cite": "faq.md", "reference": "Par virement."},
                }
            ],
        },
        {
            "id": "hours-ar",
            "tags": ["language:ar"],
            "turns": [{"text": "ما هي أوقات عمل الوكالات؟", "expect": {"action": "refuse"}}],
        },
    ],
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(
    rafiq_env: Path, small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> TestClient:
    samples = tmp_path / "samples"
    (samples / "acme").mkdir(parents=True)
    (samples / "acme" / "small.yaml").write_text(
        "name: sample-small\ncases:\n  - id: one\n    tags: ['language:fr']\n    turns:\n"
        "      - text: 'Quels sont les horaires des agences ?'\n        expect: {action: answer}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RAFIQ_SAMPLES_DIR", str(samples))
    container = Container(Settings())
    for tenant in ("acme", "globex"):
        container.tenants.create(tenant)
        ingest(container.store(tenant), [small_kb], container.ingest_options())
    app = create_app(container)
    app.state.tokens = {
        (tenant, role): container.tenants.create_user(tenant, role).token
        for tenant in ("acme", "globex")
        for role in ("qa", "adviser", "admin")
    }
    return TestClient(app)


def token(client: TestClient, tenant: str, role: str) -> dict[str, str]:
    tokens: dict[tuple[str, str], str] = client.app.state.tokens  # type: ignore[attr-defined]
    return bearer(tokens[(tenant, role)])


def test_a_qa_user_runs_a_suite_and_reads_the_report(client: TestClient) -> None:
    qa = token(client, "acme", "qa")
    started = client.post("/v1/eval/runs", json={"suite": SUITE}, headers=qa)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.headers["location"] == f"/v1/eval/runs/{run_id}"
    assert started.json()["tenant"] == "acme" and started.json()["suite"] == "small"

    # The list has the shape the console's QA page reads.
    listed = client.get("/v1/eval/runs", headers=qa).json()["runs"]
    assert [r["id"] for r in listed] == [run_id]
    run = listed[0]
    assert run["suite"] == "small" and run["status"] == "done"
    assert run["created_at"] and run["finished_at"]
    assert run["metrics"]["case_pass_rate"] == 0.5
    assert all(isinstance(v, float) for v in run["metrics"].values())

    detail = client.get(f"/v1/eval/runs/{run_id}", headers=qa).json()
    assert [c["id"] for c in detail["outcomes"]] == ["pay-fr", "hours-ar"]
    assert detail["settings"]["mode"] == "extractive"

    report = client.get(f"/v1/eval/runs/{run_id}/report", headers=qa)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert "Evaluation — small" in report.text and 'dir="rtl"' in report.text


def test_a_report_compares_with_the_previous_run_on_request(client: TestClient) -> None:
    qa = token(client, "acme", "qa")
    first = client.post("/v1/eval/runs", json={"suite": SUITE}, headers=qa).json()["id"]
    second = client.post("/v1/eval/runs", json={"suite": SUITE}, headers=qa).json()["id"]
    report = client.get(f"/v1/eval/runs/{second}/report?compare=last", headers=qa)
    assert f"Compared with {first}" in report.text
    assert "No case changed outcome." in report.text
    alone = client.get(f"/v1/eval/runs/{first}/report?compare=last", headers=qa)
    assert alone.status_code == 200 and "Compared with" not in alone.text
    unknown = client.get(f"/v1/eval/runs/{second}/report?compare=run_nope", headers=qa)
    assert unknown.status_code == 404


def test_runs_of_another_tenant_do_not_exist_for_the_caller(client: TestClient) -> None:
    started = client.post(
        "/v1/eval/runs", json={"suite": SUITE}, headers=token(client, "acme", "qa")
    )
    run_id = started.json()["id"]
    other = token(client, "globex", "qa")
    assert client.get("/v1/eval/runs", headers=other).json() == {"runs": []}
    for path in (f"/v1/eval/runs/{run_id}", f"/v1/eval/runs/{run_id}/report"):
        response = client.get(path, headers=other)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    # An admin of the same tenant may read it; an adviser may not.
    assert client.get(f"/v1/eval/runs/{run_id}", headers=token(client, "acme", "admin")).is_success
    adviser = client.get("/v1/eval/runs", headers=token(client, "acme", "adviser"))
    assert adviser.status_code == 403
    assert client.get("/v1/eval/runs").status_code == 401


def test_a_suite_of_another_tenant_or_with_mistakes_is_refused_with_every_problem(
    client: TestClient,
) -> None:
    qa = token(client, "globex", "qa")
    mismatch = client.post("/v1/eval/runs", json={"suite": SUITE}, headers=qa)
    assert mismatch.status_code == 422
    assert mismatch.json()["error"]["code"] == "tenant_mismatch"

    broken = {
        "name": "broken",
        "cases": [
            {"id": "a", "tags": ["language:klingon"], "turns": [{"text": "x"}]},
            {
                "id": "b",
                "tags": ["language:fr"],
                "turns": [{"text": "y", "expect": {"action": "anser"}}],
            },
        ],
    }
    refused = client.post("/v1/eval/runs", json={"suite": broken}, headers=qa)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_suite"
    assert error["message"].splitlines() == [
        "suite: case \"a\": tags[0]: unknown language 'klingon' "
        "(one of fr, ar, darija, arabizi, en)",
        "suite: case \"b\" turn 1: expect.action[0]: 'anser' is not allowed here "
        "(one of 'answer', 'clarify', 'escalate' or 'refuse')",
    ]
    assert client.get("/v1/eval/runs", headers=qa).json() == {"runs": []}


def test_sample_suites_are_named_by_their_path_under_the_samples_folder(client: TestClient) -> None:
    qa = token(client, "globex", "qa")
    started = client.post("/v1/eval/runs", json={"suite": "acme/small.yaml"}, headers=qa)
    assert started.status_code == 202, started.text
    assert started.json()["suite"] == "sample-small"
    for name in ("../../etc/passwd", "acme/missing.yaml", "acme/\u0000.yaml", "a" * 5000):
        refused = client.post("/v1/eval/runs", json={"suite": name}, headers=qa)
        assert refused.status_code == 422
        assert "no such sample suite" in refused.json()["error"]["message"]


def test_one_run_at_a_time_per_tenant(client: TestClient) -> None:
    container: Container = client.app.state.services  # type: ignore[attr-defined]
    evaluator = container.evaluations
    target = evaluator.target("acme")
    queued = new_record("acme", evaluator.parse(target, [SUITE]), "kb", {})
    evaluator.store.add(queued)
    busy = client.post("/v1/eval/runs", json={"suite": SUITE}, headers=token(client, "acme", "qa"))
    assert busy.status_code == 409
    assert busy.json()["error"] == {
        "code": "run_in_progress",
        "message": f"run {queued.id} of this tenant is queued",
    }
    other = client.post(
        "/v1/eval/runs", json={"suite": "acme/small.yaml"}, headers=token(client, "globex", "qa")
    )
    assert other.status_code == 202


def test_a_suite_larger_than_an_ordinary_request_body_is_accepted(client: TestClient) -> None:
    # A sample tenant's suites weigh about 100 KB: over the 64 KB limit of other routes.
    filler = "x" * 70_000
    big = {**SUITE, "description": filler}
    started = client.post("/v1/eval/runs", json={"suite": big}, headers=token(client, "acme", "qa"))
    assert started.status_code == 202, started.text
