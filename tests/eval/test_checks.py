"""Each expectation of a turn becomes one check with a reason a QA person can act on."""

from __future__ import annotations

from eval.checks import judge
from eval.outcomes import Expected
from tests.eval.outcomes_builder import result


def test_every_written_expectation_is_one_check_with_its_reason() -> None:
    expected = Expected(
        actions=["answer"],
        reply_language="ar",
        cite=["faq_ar.csv#كيف أشحن رصيد خطي المسبق الدفع؟", "faq_fr.md"],
        must_contain=["*3032*", "١٥"],
        must_not_contain=["4539 1488"],
        redactions=["card_number"],
    )
    got = result(
        "answer",
        "ركبوا *3032* قبل 15 من الشهر",
        reply="ar",
        detected="darija",
        cited=("faq_ar.csv#كيف أشحن رصيد خطي المسبق الدفع؟",),
    )
    checks = {c.name: c for c in judge(expected, got)}
    assert set(checks) == {
        "action",
        "reply_language",
        "cite",
        "must_contain",
        "must_not_contain",
        "redactions",
    }
    assert all(c.passed for name, c in checks.items() if name != "redactions")
    assert not checks["redactions"].passed
    assert checks["redactions"].detail == "not removed: card_number"


def test_a_wrong_queue_and_missing_strings_say_what_was_expected() -> None:
    expected = Expected(
        actions=["escalate"], categories=["fraud"], reply_language="fr", must_contain=["0801"]
    )
    checks = {c.name: c for c in judge(expected, result("escalate", category="distress"))}
    assert checks["action"].passed
    assert not checks["category"].passed
    assert checks["category"].detail == "expected queue fraud, got distress"
    assert checks["must_contain"].detail == "missing “0801”"


def test_cite_and_category_are_only_judged_when_they_apply() -> None:
    expected = Expected(
        actions=["answer", "escalate"],
        categories=["billing_anomaly"],
        reply_language="fr",
        cite=["faq_fr.md"],
    )
    names = [c.name for c in judge(expected, result("clarify"))]
    assert names == ["action", "reply_language"]  # no answer: no cite; no escalation: no queue
    cited = judge(expected, result("answer", cited=("politique.html#Délais",)))
    cite = next(c for c in cited if c.name == "cite")
    assert not cite.passed
    assert "politique.html#Délais" in cite.detail
