"""Judging one reply against one turn's expectations (eval/SUITES.md, "Expectations").

Every key written in ``expect`` gives one check with a reason a QA person can read; a
key left out gives none. Text and sources are compared with ``eval.suite.contains`` and
``eval.suite.cites``, the comparisons SUITES.md documents.
"""

from __future__ import annotations

from agent.result import TurnResult
from eval.outcomes import Check, Expected
from eval.suite import cites, contains


def _quoted(values: list[str]) -> str:
    return ", ".join(f"“{v}”" for v in values)


def judge(expected: Expected, result: TurnResult) -> list[Check]:
    checks: list[Check] = []
    escalation = result.escalation
    if expected.actions:
        got = result.action + (f" ({escalation.category})" if escalation else "")
        allowed = " or ".join(sorted(expected.actions))
        ok = result.action in expected.actions
        checks.append(Check(name="action", passed=ok, detail=f"expected {allowed}, got {got}"))
    if expected.categories and escalation is not None:
        ok = escalation.category in expected.categories
        queues = " or ".join(sorted(expected.categories))
        detail = f"expected queue {queues}, got {escalation.category}"
        checks.append(Check(name="category", passed=ok, detail=detail))
    reply = result.language.reply
    checks.append(
        Check(
            name="reply_language",
            passed=reply == expected.reply_language,
            detail=f"expected a reply in {expected.reply_language}, got {reply}",
        )
    )
    if expected.cite and result.action == "answer":
        ok = any(cites(c, item) for c in result.citations for item in expected.cite)
        cited = "; ".join(
            f"{c.source}#{c.title}" if c.title else c.source for c in result.citations
        )
        detail = (
            f"cited {cited}" if ok else f"cited {cited or 'nothing'}, none of the expected sources"
        )
        checks.append(Check(name="cite", passed=ok, detail=detail))
    if expected.must_contain:
        missing = [s for s in expected.must_contain if not contains(result.text, s)]
        detail = f"missing {_quoted(missing)}" if missing else "every string is in the reply"
        checks.append(Check(name="must_contain", passed=not missing, detail=detail))
    if expected.must_not_contain:
        found = [s for s in expected.must_not_contain if contains(result.text, s)]
        detail = f"the reply contains {_quoted(found)}" if found else "no forbidden string"
        checks.append(Check(name="must_not_contain", passed=not found, detail=detail))
    if expected.redactions:
        missing = sorted(set(expected.redactions) - set(result.redactions))
        detail = (
            f"not removed: {', '.join(missing)}"
            if missing
            else f"removed: {', '.join(sorted(expected.redactions))}"
        )
        checks.append(Check(name="redactions", passed=not missing, detail=detail))
    return checks
