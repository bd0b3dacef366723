"""Running a suite in-process against a small tenant: fresh conversations, turns in order,
nothing reaching the advisers, and a stored run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.models import ConversationRow, HandoffRow, OutboxRow
from eval.runner import TenantMismatchError, run_suites
from eval.suite import Suite, load_suite
from knowledge_base.ingest import ingest
from rafiq.settings import Settings
from rafiq.wiring import Container

pytestmark = pytest.mark.slow

SUITE = """\
name: small
tenant: acme
cases:
  - id: pay-fr
    tags: ["language:fr", "topic:billing"]
    turns:
      - text: "Comment payer ma facture ?"
        expect:
          action: answer
          cite: ["faq.md#Comment payer ma facture ?"]
          must_contain: ["Atlas&Moi"]
          reference: "Payez dans l'application Atlas&Moi, en agence ou par virement."
  - id: human-then-more
    tags: ["language:fr", "topic:human"]
    turns:
      - text: "Je veux parler à un conseiller humain tout de suite"
        expect: {action: answer}
      - text: "Et les horaires des agences ?"
        expect: {action: answer}
"""


@pytest.fixture
def acme(container: Container, small_kb: Path) -> Container:
    container.tenants.create("acme")
    ingest(container.store("acme"), [small_kb], container.ingest_options())
    return container


def suite_file(tmp_path: Path, text: str = SUITE) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def count(container: Container, model: type) -> int:
    with container.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_cases_run_as_fresh_conversations_kept_from_the_advisers(
    acme: Container, tmp_path: Path
) -> None:
    target = acme.eval_target("acme")
    done: list[tuple[int, int]] = []
    cases = run_suites(
        [load_suite(suite_file(tmp_path), target.categories)],
        target,
        progress=lambda n, total: done.append((n, total)),
    )
    assert [c.id for c in cases] == ["pay-fr", "human-then-more"]
    assert done[-1] == (2, 2)

    answered = cases[0].turns[0]
    assert cases[0].passed, [c.detail for c in answered.checks]
    assert answered.result is not None and answered.result.action == "answer"
    assert answered.passages[0].cited and answered.passages[0].title == "Comment payer ma facture ?"
    assert "Atlas&Moi" in answered.passages[0].text
    assert answered.latency_ms is not None and answered.latency_ms > 0

    escalated, after = cases[1].turns
    action = escalated.check("action")
    assert action is not None and not action.passed
    assert action.detail == "expected answer, got escalate (human_request)"
    assert after.status == "not_reached" and after.result is None
    assert after.note == "turn 1 handed the conversation to an adviser (human_request)"
    assert not cases[1].passed

    # The run's conversations and its handoff never touched the tenant's database.
    assert (count(acme, ConversationRow), count(acme, HandoffRow), count(acme, OutboxRow)) == (
        0,
        0,
        0,
    )


def test_a_suite_written_for_another_tenant_is_refused(acme: Container, tmp_path: Path) -> None:
    target = acme.eval_target("acme")
    other = load_suite(suite_file(tmp_path, SUITE.replace("tenant: acme", "tenant: yusr")))
    with pytest.raises(TenantMismatchError, match=r"small \(tenant yusr\).*'acme'"):
        run_suites([other], target)


def test_a_run_is_stored_with_its_versions_and_settings_but_no_secret(
    acme: Container, tmp_path: Path
) -> None:
    evaluator = acme.evaluations
    target = evaluator.target("acme")
    suites: list[Suite] = evaluator.load(target, [suite_file(tmp_path)])
    started = evaluator.start(target, suites)
    assert evaluator.store.get(started.id).status == "queued"
    finished = evaluator.execute(started, target, suites)

    stored = evaluator.store.get(finished.id, "acme")
    assert stored.status == "done" and stored.finished_at is not None
    assert (stored.suite, stored.suite_version) == ("small", suites[0].version)
    assert stored.kb_version == target.retriever.store.version()
    assert stored.settings["mode"] == "extractive"
    assert len(stored.settings["kb_fingerprint"]) == 12
    assert stored.metrics["case_pass_rate"] == 0.5
    assert stored.metrics["chrf"] > 0  # the answered turn has a reference
    assert [c.key for c in stored.outcomes] == ["small/pay-fr", "small/human-then-more"]
    assert [r.id for r in evaluator.store.list("acme")] == [stored.id]
    assert evaluator.store.list("someone-else") == []


def test_the_settings_snapshot_keeps_endpoints_without_credentials(
    rafiq_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAFIQ_LLM_BASE_URL", "https://bob:hunter2@llm.example.com:8443/v1?key=k")
    monkeypatch.setenv("RAFIQ_LLM_API_KEY", "sk-secret-value")
    monkeypatch.setenv("RAFIQ_EVAL_JUDGE_BASE_URL", "http://127.0.0.1:9999/v1")
    monkeypatch.setenv("RAFIQ_EVAL_JUDGE_MODEL", "judge-7b")
    monkeypatch.setenv("RAFIQ_EVAL_JUDGE_API_KEY", "sk-judge-secret")
    snapshot = Container(Settings()).eval_settings()
    assert snapshot["llm_endpoint"] == "https://llm.example.com:8443"
    assert snapshot["judge_model"] == "judge-7b"
    text = repr(snapshot)
    assert "hunter2" not in text and "secret" not in text and "key=k" not in text
