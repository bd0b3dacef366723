"""The HTML report: self-contained, everything escaped, Arabic right-to-left, and the
sections a QA person reads (cards, heatmaps, bars, latency, failed cases)."""

from __future__ import annotations

from html.parser import HTMLParser

from eval.compare import compare
from eval.gate import check, parse_thresholds
from eval.metrics import compute, flat
from eval.outcomes import Passage
from eval.report import render
from tests.eval.outcomes_builder import case, record, result, turn

ATTACK = '<script>alert("x")</script><img src=https://evil.example/p.png>'


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text under each ``dir``."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def run_report(**extra: object) -> str:
    cases = [
        case(
            "darija-fails",
            turn(
                result("answer", "ركبوا الرمز *3031# مجانا", reply="ar", detected="darija"),
                text="كيفاش نعرف الصولد ديالي؟ " + ATTACK,
                language="darija",
                actions=["answer"],
                reply_language="ar",
                must_contain=["*3035#"],
                passages=[
                    Passage(
                        chunk_id="k1",
                        source="faq_ar.csv",
                        title="كيف أعرف رصيدي؟",
                        text="ركبوا الرمز *3031#",
                        language="ar",
                        score=0.9,
                        cited=True,
                    )
                ],
            ),
            tags=("topic:prepaid",),
        ),
        case("fr-passes", turn(result("answer"), actions=["answer"], latency_ms=40)),
        case(
            "escalation",
            turn(
                result("escalate", category="fraud"),
                actions=["escalate"],
                categories=["fraud"],
                latency_ms=900,
            ),
        ),
    ]
    run = record(cases, flat(compute(cases)))
    return render(run, **extra)  # type: ignore[arg-type]


def test_the_report_is_self_contained_and_escapes_what_it_shows() -> None:
    page = run_report()
    parser = Elements()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags and "img" not in tags and "link" not in tags
    links = [attrs.get("href") or "" for _, attrs in parser.tags if "href" in attrs]
    assert links and all(link.startswith("#") for link in links)  # in-page anchors only
    assert not [attrs for _, attrs in parser.tags if "src" in attrs]
    assert "@import" not in page and "url(" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en" dir="ltr">' in page


def test_arabic_blocks_are_right_to_left() -> None:
    parser = Elements()
    parser.feed(run_report())
    bubbles = {
        attrs.get("class"): attrs.get("dir")
        for tag, attrs in parser.tags
        if tag == "div" and "bubble" in (attrs.get("class") or "")
    }
    assert bubbles["bubble bubble--customer"] == "rtl"  # the Darija message
    assert bubbles["bubble bubble--bot"] == "rtl"  # the Arabic reply
    passages = [a for t, a in parser.tags if a.get("class") == "passage__text"]
    assert [p.get("dir") for p in passages] == ["rtl"]


def test_the_sections_a_reader_needs() -> None:
    page = run_report()
    for section in (
        "summary",
        "routing",
        "escalations",
        "breakdowns",
        "quality",
        "latency",
        "failures",
    ):
        assert f"id='{section}'" in page or f'id="{section}"' in page
    assert 'class="heat"' in page and "<svg" in page
    assert "Failed cases (1)" in page
    assert 'id="case-s-darija-fails"' in page
    assert "missing “*3035#”" in page
    assert "fr-passes" not in page.split("Failed cases")[1]  # passed cases are not listed


def test_gate_and_comparison_are_shown_when_given() -> None:
    thresholds = parse_thresholds(["case_pass_rate=0.9", "latency_p95_ms=100"])
    cases = [case("x", turn(result("clarify"), actions=["answer"]))]
    previous = record(cases, {"case_pass_rate": 1.0}, run_id="run_before")
    current = record(cases, {"case_pass_rate": 0.6667}, run_id="run_after", minutes=3)
    page = render(
        current, compare(current, previous), thresholds, check(current.metrics, thresholds)
    )
    assert "Gate failed" in page
    assert "case_pass_rate: 0.6667 is below the minimum 0.9" in page
    assert "latency_p95_ms: not measured in this run" in page
    assert "Compared with run_before" in page and "-33.3 pts" in page
    assert 'class="card card--bad" data-metric="case_pass_rate"' in page
