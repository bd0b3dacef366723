"""The HTML report of a run: one self-contained file that opens offline.

Inline CSS and inline SVG only: no script, no font, no image to fetch, so the file can be
mailed, archived or opened from the console (which re-applies the ``<style>`` in a new
tab and drops scripts). Every text from a suite, a reply or a document is escaped, and
each block of customer, reply or passage text carries its own direction (``dir``), so
Arabic reads right-to-left inside an English page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

from eval.compare import Comparison, MetricDelta, failure_summary
from eval.gate import GateFailure, Threshold
from eval.metrics import (
    METRIC_INFO,
    QUALITY,
    ConfusionMatrix,
    GroupRow,
    Metrics,
    Rate,
    compute,
    percentile,
    rates,
)
from eval.outcomes import CaseOutcome, Passage, TurnOutcome
from eval.store import RunRecord

RTL_LANGUAGES: Final = frozenset({"ar", "darija"})
HISTOGRAM_BINS: Final = 20
PASSAGE_CHARS: Final = 600
RATE_NOUNS: Final = {
    "case_pass_rate": "cases",
    "routing_accuracy": "turns",
    "escalation_recall": "must escalate",
    "escalation_precision": "escalations",
    "false_escalation_rate": "must not escalate",
    "action_accuracy": "turns",
    "reply_language_accuracy": "replies",
    "citation_accuracy": "answers with cite",
    "must_contain_pass_rate": "turns",
    "must_not_contain_pass_rate": "turns",
    "redaction_pass_rate": "turns",
}
ACTIONS_CAPTION: Final = "Turns per expected and actual action"
QUEUES_CAPTION: Final = "Turns per expected and actual adviser queue (none: no escalation)"

_CSS: Final = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --soft: #f6f8fa; --ok: #1a7f37; --ok-soft: #dafbe1; --bad: #cf222e; --bad-soft: #ffebe9;
  --warn: #9a6700; --warn-soft: #fff8c5; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans",
  "DejaVu Sans", Tahoma, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 12px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
p { margin: 6px 0; }
.muted { color: var(--muted); }
.meta { display: flex; flex-wrap: wrap; gap: 4px 18px; color: var(--muted); margin: 6px 0 0;
  padding: 0; list-style: none; }
.meta b { color: var(--ink); font-weight: 600; }
.banner { margin: 18px 0 0; padding: 12px 16px; border-radius: 8px; border: 1px solid; }
.banner--ok { background: var(--ok-soft); border-color: #aceebb; }
.banner--bad { background: var(--bad-soft); border-color: #ffcecb; }
.banner--warn { background: var(--warn-soft); border-color: #eed888; }
.banner ul { margin: 6px 0 0; padding-inline-start: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fff; }
.card--ok { border-color: var(--ok); box-shadow: inset 4px 0 0 var(--ok); }
.card--bad { border-color: var(--bad); box-shadow: inset 4px 0 0 var(--bad); }
.card__value { font-size: 26px; font-weight: 650; line-height: 1.2;
  font-variant-numeric: tabular-nums; }
.card__label { font-weight: 600; }
.card__detail { color: var(--muted); font-size: 12px; }
.delta { font-size: 12px; font-weight: 600; font-variant-numeric: tabular-nums; }
.delta--better { color: var(--ok); }
.delta--worse { color: var(--bad); }
.delta--same { color: var(--muted); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 24px;
  align-items: start; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: start; vertical-align: top; padding: 6px 8px;
  border-bottom: 1px solid var(--line); }
thead th { background: var(--soft); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: end; font-variant-numeric: tabular-nums; white-space: nowrap; }
.heat { width: auto; font-variant-numeric: tabular-nums; }
.heat th, .heat td { border: 1px solid #fff; text-align: center; min-width: 34px;
  padding: 6px 6px; }
.heat th { background: var(--soft); font-size: 12px; }
.heat th.row { text-align: end; white-space: nowrap; }
.heat th.col { writing-mode: vertical-rl; transform: rotate(180deg); text-align: start;
  white-space: nowrap; padding: 6px 4px; vertical-align: bottom; }
.scroll { overflow-x: auto; max-width: 100%; }
.routing { display: grid; grid-template-columns: minmax(0, auto) minmax(0, 1fr); gap: 32px;
  align-items: start; }
@media (max-width: 900px) { .routing { grid-template-columns: minmax(0, 1fr); } }
.label--spaced { margin-top: 10px; }
td.mono { white-space: nowrap; }
.heat .corner { background: #fff; text-align: end; font-weight: 400; color: var(--muted); }
.heat td.zero { color: #b0b8c1; }
.bar { position: relative; height: 16px; background: var(--soft); border-radius: 3px;
  min-width: 120px; overflow: hidden; }
.bar > span { position: absolute; inset-block: 0; inset-inline-start: 0; border-radius: 3px; }
.bar--ok > span { background: #4ac26b; }
.bar--mid > span { background: #d4a72c; }
.bar--bad > span { background: #e5534b; }
.bar--score > span { background: #54aeff; }
.bar--none { background:
  repeating-linear-gradient(45deg, #fff, #fff 4px, var(--soft) 4px, var(--soft) 8px); }
.legend { font-size: 12px; color: var(--muted); }
.chart { display: block; max-width: 100%; height: auto; }
.tag { display: inline-block; padding: 0 6px; margin: 1px 2px 1px 0; border-radius: 10px;
  background: var(--soft);
  border: 1px solid var(--line); font-size: 12px; white-space: nowrap; }
.state { font-weight: 600; }
.state--passed { color: var(--ok); }
.state--failed { color: var(--bad); }
.state--absent { color: var(--muted); }
.case { border: 1px solid var(--line); border-radius: 8px; margin: 16px 0; overflow: hidden; }
.case__head { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline;
  padding: 10px 14px; background: var(--soft);
  border-bottom: 1px solid var(--line); }
.case__id { font-weight: 650; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  font-size: 13px; }
.case__desc { padding: 8px 14px 0; color: var(--muted); }
.turn { padding: 10px 14px; border-top: 1px solid var(--line); }
.turn:first-of-type { border-top: 0; }
.turn__cols { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); font-weight: 600; margin-bottom: 2px; }
.bubble { padding: 8px 10px; border-radius: 8px; background: var(--soft);
  white-space: pre-wrap; overflow-wrap: anywhere; }
.bubble--customer { background: #ddf4ff; }
.bubble--bot { background: #f6f8fa; border: 1px solid var(--line); }
.kv { margin: 4px 0 0; display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px;
  font-size: 13px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; overflow-wrap: anywhere; }
.checks { list-style: none; margin: 8px 0 0; padding: 0; font-size: 13px; }
.checks li { padding: 2px 0; }
.checks .ok::before { content: "✓ "; color: var(--ok); font-weight: 700; }
.checks .bad::before { content: "✗ "; color: var(--bad); font-weight: 700; }
.checks .bad { color: var(--bad); }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--accent); font-size: 13px; }
.passages { list-style: none; padding: 0; margin: 6px 0 0; }
.passages li { border-inline-start: 3px solid var(--line); padding: 4px 10px; margin: 6px 0; }
.passages li.cited { border-inline-start-color: var(--accent); }
.passage__src { font-size: 12px; color: var(--muted); }
.passage__text { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; }
.note { color: var(--warn); font-weight: 600; }
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
@media (max-width: 900px) { td.num, th.num { white-space: normal; } .bar { min-width: 48px; } }
@media (max-width: 720px) { .turn__cols { grid-template-columns: 1fr; } main { padding: 16px; } }
@media print { details { display: block; } .case { break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _dir(language: str | None) -> str:
    """``rtl`` for Arabic and Darija in Arabic script; ``auto`` lets the browser decide
    for everything else (an Arabic word in a French reply, a code, a number)."""
    return "rtl" if language in RTL_LANGUAGES else "auto"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def format_metric(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    info = METRIC_INFO[metric]
    if info.unit == "ms":
        return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
    if metric in {m.name for m in QUALITY}:
        return f"{value:.2f}"
    return _pct(value)


def delta_text(delta: MetricDelta) -> str:
    """``+2.1 pts``, ``-12.0 ms``, ``+0.031``; empty when not comparable."""
    change = delta.delta
    if change is None:
        return ""
    info = METRIC_INFO[delta.metric]
    if info.unit == "ms":
        text = f"{change:+.1f} ms"
    elif delta.metric in {m.name for m in QUALITY}:
        text = f"{change:+.3f}"
    else:
        text = f"{change * 100:+.1f} pts"
    return "±0" if not any(c in "123456789" for c in text) else text


def format_delta(delta: MetricDelta) -> str:
    text = delta_text(delta)
    if not text:
        return ""
    kind = {True: "better", False: "worse", None: "same"}[delta.better]
    return f'<span class="delta delta--{kind}">{_e(text)}</span>'


def _rate_detail(rate: Rate, noun: str) -> str:
    return f"{rate.passed} / {rate.total} {noun}" if rate.total else f"no {noun}"


# --- charts --------------------------------------------------------------------------------


def _bar(value: float | None, *, score: bool = False) -> str:
    """A rate's bar is coloured by how good it is; a score's (ragas) is neutral: 0.4 is a
    fair chrF between two correct answers worded differently."""
    if value is None:
        return '<div class="bar bar--none" title="not measured"></div>'
    kind = "score" if score else "ok" if value >= 0.9 else "mid" if value >= 0.7 else "bad"
    width = max(value * 100, 0.8)
    return (
        f'<div class="bar bar--{kind}" role="img" aria-label="{_pct(value)}">'
        f'<span style="width:{width:.1f}%"></span></div>'
    )


def heatmap(matrix: ConfusionMatrix, caption: str) -> str:
    if not matrix.labels:
        return f"<p class='muted'>{_e(caption)}: nothing to show.</p>"
    head = "".join(f'<th scope="col" class="col">{_e(label)}</th>' for label in matrix.labels)
    rows = []
    for label, counts in zip(matrix.labels, matrix.counts, strict=True):
        total = sum(counts)
        cells = []
        for column, count in zip(matrix.labels, counts, strict=True):
            if not count:
                cells.append('<td class="zero">0</td>')
                continue
            share = count / total if total else 0
            alpha = 0.15 + 0.75 * share
            colour = "26,127,55" if column == label else "207,34,46"
            ink = "#fff" if alpha > 0.55 else "#1f2328"
            title = f"expected {label}, got {column}: {count} of {total}"
            cells.append(
                f'<td style="background:rgba({colour},{alpha:.2f});color:{ink}" '
                f'title="{_e(title)}">{count}</td>'
            )
        rows.append(f'<tr><th scope="row" class="row">{_e(label)}</th>{"".join(cells)}</tr>')
    return (
        f'<div class="scroll"><table class="heat"><caption class="legend">{_e(caption)}</caption>'
        f'<thead><tr><th class="corner">expected ↓ · got →</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def latency_histogram(latencies: Sequence[float], p50: float | None, p95: float | None) -> str:
    if not latencies:
        return "<p class='muted'>No turn was timed.</p>"
    width, height, left, bottom, top = 640, 200, 44, 28, 12
    # A few slow turns (a cold cache, a model timeout) would squash every other bar into
    # the first one: past 3 x p95 they share the last bar.
    ceiling = min(max(latencies), 3 * (percentile(latencies, 95) or 0.0)) or max(latencies)
    step = _nice_step(ceiling / HISTOGRAM_BINS)
    bins = max(1, math.ceil(ceiling / step + 1e-9))
    counts = [0] * bins
    for value in latencies:
        counts[min(int(value // step), bins - 1)] += 1
    slower = sum(value >= bins * step for value in latencies)
    peak = max(counts)
    plot_w, plot_h = width - left - 10, height - bottom - top
    bar_w = plot_w / bins
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="Latency histogram: {len(latencies)} turns">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#8c959f"/>',
    ]
    for tick in _ticks(peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#59636e">{tick}</text>'
        )
    for index, count in enumerate(counts):
        if count:
            h = plot_h * count / peak
            x = left + index * bar_w
            label = f"{index * step:g}–{(index + 1) * step:g} ms: {count} turns"
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="#54aeff"><title>{_e(label)}</title></rect>'
            )
    label_every = max(1, math.ceil(bins / 8))
    for index in range(0, bins + 1, label_every):
        x = left + index * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" font-size="11" text-anchor="middle" '
            f'fill="#59636e">{index * step:g}</text>'
        )
    markers: tuple[tuple[str, float | None, str, int], ...] = (
        ("p50", p50, "#1a7f37", top + 10),
        ("p95", p95, "#cf222e", top + 26),
    )
    for name, at, colour, label_y in markers:
        if at is not None:
            x = left + plot_w * min(at / (bins * step), 1)
            parts.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{colour}" '
                f'stroke-dasharray="4 3" stroke-width="1.5"/>'
                f'<text x="{x + 4:.1f}" y="{label_y}" font-size="11" fill="{colour}">'
                f"{name} {at:.0f} ms</text>"
            )
    parts.append("</svg>")
    beyond = (
        f" · the last bar also holds {slower} slower turns (up to {max(latencies):.0f} ms)"
        if slower
        else ""
    )
    return "".join(parts) + f'<p class="legend">Milliseconds per turn (x) · turns (y){beyond}</p>'


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw))


def _ticks(peak: int) -> list[int]:
    step = max(1, int(_nice_step(peak / 4)))
    return list(range(step, peak + 1, step))


# --- sections ------------------------------------------------------------------------------


def _card(
    metric: str,
    value: float | None,
    detail: str,
    delta: MetricDelta | None,
    threshold: Threshold | None,
    failed: bool,
) -> str:
    info = METRIC_INFO[metric]
    state = "" if threshold is None else " card--bad" if failed else " card--ok"
    gate = ""
    if threshold is not None:
        bound = "≥" if threshold.is_floor else "≤"
        limit = format_metric(metric, threshold.value)
        gate = f"<div class='card__detail'>gate {bound} {_e(limit)}</div>"
    change = format_delta(delta) if delta else ""
    return (
        f'<div class="card{state}" data-metric="{_e(metric)}">'
        f'<div class="card__value">{_e(format_metric(metric, value))}</div>'
        f'<div class="card__label">{_e(info.label)}</div>'
        f'<div class="card__detail">{_e(detail)}</div>{gate}'
        + (f"<div>{change}</div>" if change else "")
        + "</div>"
    )


def _cards(
    record: RunRecord,
    metrics: Metrics,
    comparison: Comparison | None,
    thresholds: Sequence[Threshold],
    failures: Sequence[GateFailure],
) -> str:
    details = {name: _rate_detail(rate, RATE_NOUNS[name]) for name, rate in rates(metrics).items()}
    details["latency_p50_ms"] = details["latency_p95_ms"] = f"{metrics.judged} turns timed"
    for name, count in metrics.quality_counts.items():
        details[name] = f"mean of {count} answers"
    deltas = {d.metric: d for d in comparison.metrics} if comparison else {}
    gated = {t.metric: t for t in thresholds}
    failed = {f.threshold.metric for f in failures}
    shown = [m for m in METRIC_INFO if m in record.metrics or m in gated]
    return (
        '<div class="cards">'
        + "".join(
            _card(
                m,
                record.metrics.get(m),
                details.get(m, ""),
                deltas.get(m),
                gated.get(m),
                m in failed,
            )
            for m in shown
        )
        + "</div>"
    )


def _gate_banner(thresholds: Sequence[Threshold], failures: Sequence[GateFailure]) -> str:
    if not thresholds:
        return ""
    if not failures:
        listed = " · ".join(
            f"{METRIC_INFO[t.metric].label} {'≥' if t.is_floor else '≤'} "
            f"{format_metric(t.metric, t.value)}"
            for t in thresholds
        )
        return f'<div class="banner banner--ok"><b>Gate passed</b> — {_e(listed)}</div>'
    items = "".join(f"<li>{_e(f)}</li>" for f in failures)
    return f'<div class="banner banner--bad"><b>Gate failed</b><ul>{items}</ul></div>'


def _warnings(record: RunRecord) -> str:
    notes = list(record.warnings)
    if record.error:
        notes.insert(0, f"The run stopped: {record.error}")
    if not notes:
        return ""
    items = "".join(f"<li>{_e(n)}</li>" for n in notes)
    return f'<div class="banner banner--warn"><b>Warnings</b><ul>{items}</ul></div>'


def _comparison(comparison: Comparison) -> str:
    notes = "".join(f"<li>{_e(n)}</li>" for n in comparison.notes)
    rows = "".join(
        f"<tr><td>{_e(METRIC_INFO[d.metric].label)}</td>"
        f'<td class="num">{_e(format_metric(d.metric, d.before))}</td>'
        f'<td class="num">{_e(format_metric(d.metric, d.after))}</td>'
        f'<td class="num">{format_delta(d) or "—"}</td></tr>'
        for d in comparison.metrics
    )
    changes = "".join(
        f'<tr><td class="mono">{_e(c.key)}</td>'
        f'<td><span class="state state--{c.before}">{c.before}</span> → '
        f'<span class="state state--{c.after}">{c.after}</span></td>'
        f'<td dir="auto">{_e(c.detail)}</td></tr>'
        for c in comparison.changed
    )
    changed = (
        f"<table><thead><tr><th>Case</th><th>Outcome</th><th>Detail</th></tr></thead>"
        f"<tbody>{changes}</tbody></table>"
        if comparison.changed
        else "<p class='muted'>No case changed outcome.</p>"
    )
    return (
        f'<h2 id="compare">Compared with {_e(comparison.previous_id)}</h2>'
        f"<p class='muted'>Run of {_e(_when(comparison.previous_created_at))}.</p>"
        + (
            f'<div class="banner banner--warn"><b>Not the same conditions</b><ul>{notes}</ul></div>'
            if notes
            else ""
        )
        + '<div class="grid2"><div><h3>Metrics</h3><table><thead><tr><th>Metric</th>'
        '<th class="num">Before</th><th class="num">After</th><th class="num">Change</th>'
        "</tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
        f"<div><h3>Cases that changed outcome ({len(comparison.changed)})</h3>{changed}</div></div>"
    )


def _category_table(metrics: Metrics) -> str:
    if not metrics.categories:
        return "<p class='muted'>No escalation was expected or made.</p>"
    rows = "".join(
        f"<tr><th scope='row'>{_e(c.category)}</th>"
        f"<td>{_bar(c.recall.value)}</td><td class='num'>{_rate_cell(c.recall)}</td>"
        f"<td>{_bar(c.precision.value)}</td><td class='num'>{_rate_cell(c.precision)}</td></tr>"
        for c in metrics.categories
    )
    return (
        "<table><thead><tr><th>Queue</th>"
        "<th colspan='2'>Recall (must escalate → escalated there)</th>"
        "<th colspan='2'>Precision (escalated there → allowed)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _rate_cell(rate: Rate) -> str:
    if not rate.total:
        return "<span class='muted'>—</span>"
    return f"{_pct(rate.value)} <span class='muted'>({rate.passed}/{rate.total})</span>"


def _group_table(rows: Iterable[GroupRow], key: str) -> str:
    body = "".join(
        f"<tr><th scope='row'>{_e(r.value)}</th>"
        f"<td>{_bar(r.cases.value)}</td><td class='num'>{_rate_cell(r.cases)}</td>"
        f"<td class='num'>{_rate_cell(r.routing)}</td>"
        f"<td class='num'>{_rate_cell(r.escalation_recall)}</td>"
        f"<td class='num'>{_rate_cell(r.false_escalation)}</td>"
        f"<td class='num'>{_rate_cell(r.reply_language)}</td>"
        f"<td class='num'>{_rate_cell(r.citation)}</td></tr>"
        for r in rows
    )
    return (
        f"<table><thead><tr><th>{_e(key)}</th><th colspan='2'>Cases passed</th>"
        "<th class='num'>Routing</th><th class='num'>Escalation recall</th>"
        "<th class='num'>False escalations</th><th class='num'>Reply language</th>"
        f"<th class='num'>Citations</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _groups(metrics: Metrics) -> str:
    keys = list(dict.fromkeys(r.key for r in metrics.groups))
    parts = []
    for key in keys:
        rows = [r for r in metrics.groups if r.key == key]
        title = "Per language" if key == "language" else f"Per {key}"
        parts.append(f'<h3 id="by-{_e(key)}">{_e(title)}</h3>{_group_table(rows, key)}')
    return "".join(parts)


def _quality(metrics: Metrics, record: RunRecord) -> str:
    if not metrics.quality:
        return (
            "<p class='muted'>No answered turn with a <code>reference</code>: nothing to score.</p>"
        )
    rows = "".join(
        f"<tr><th scope='row'>{_e(m.label)}</th>"
        f"<td>{_bar(metrics.quality[m.name], score=True)}</td>"
        f"<td class='num'>{metrics.quality[m.name]:.3f}</td>"
        f"<td class='num'>{metrics.quality_counts[m.name]}</td></tr>"
        for m in QUALITY
        if m.name in metrics.quality
    )
    judged = record.settings.get("judge_model")
    note = (
        f"LLM-judged scores by <code>{_e(judged)}</code>."
        if judged
        else "No judge configured (RAFIQ_EVAL_JUDGE_BASE_URL, RAFIQ_EVAL_JUDGE_MODEL): "
        "faithfulness, answer relevancy and context precision were not computed."
    )
    return (
        "<table><thead><tr><th>Score (ragas, 0–1)</th><th></th><th class='num'>Mean</th>"
        f"<th class='num'>Answers</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p class='legend'>Answered turns with a reference answer. {note}</p>"
    )


# --- failed cases --------------------------------------------------------------------------


def _kv(items: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Each value isolated (``<bdi>``), one per line: an Arabic FAQ title must not
    reorder the French one next to it."""
    rows = "".join(
        f"<dt>{_e(key)}</dt><dd>{'<br>'.join(f'<bdi>{_e(v)}</bdi>' for v in values)}</dd>"
        for key, values in items
    )
    return f'<dl class="kv">{rows}</dl>'


def _expected(turn: TurnOutcome) -> str:
    x = turn.expected
    items: list[tuple[str, Sequence[str]]] = []
    if x.actions:
        items.append(("action", [" or ".join(x.actions)]))
    if x.categories:
        items.append(("queue", [" or ".join(x.categories)]))
    items.append(("reply in", [x.reply_language]))
    for key, values in (
        ("cite", x.cite),
        ("must contain", x.must_contain),
        ("must not contain", x.must_not_contain),
    ):
        if values:
            items.append((key, values))
    if x.redactions:
        items.append(("redacts", [", ".join(x.redactions)]))
    reference = (
        '<div class="label label--spaced">Reference answer</div>'
        f'<div class="bubble" dir="{_dir(x.reply_language)}">'
        f"{_e(x.reference)}</div>"
        if x.reference
        else ""
    )
    return _kv(items) + reference


def _actual(turn: TurnOutcome) -> str:
    result = turn.result
    if result is None:
        return f'<p class="note">{_e(turn.note or turn.status)}</p>'
    items: list[tuple[str, Sequence[str]]] = [("action", [result.action])]
    if result.escalation:
        escalation = result.escalation
        items.append(("queue", [f"{escalation.category} ({escalation.priority})"]))
    items.append(("reply in", [result.language.reply]))
    items.append(("detected", [result.language.detected]))
    if result.citations:
        cited = [f"{c.source}#{c.title}" if c.title else c.source for c in result.citations]
        items.append(("cited", cited))
    if result.redactions:
        items.append(("redacted", [", ".join(result.redactions)]))
    if turn.latency_ms is not None:
        items.append(("time", [f"{turn.latency_ms:.0f} ms"]))
    return (
        f'<div class="bubble bubble--bot" dir="{_dir(result.language.reply)}">'
        f"{_e(result.text)}</div>" + _kv(items)
    )


def _passages(passages: Sequence[Passage]) -> str:
    if not passages:
        return ""
    items = []
    for p in passages:
        text = p.text if len(p.text) <= PASSAGE_CHARS else p.text[:PASSAGE_CHARS] + "…"
        where = f"{p.source}#{p.title}" if p.title else p.source
        cited = " · cited" if p.cited else ""
        items.append(
            f'<li class="{"cited" if p.cited else ""}"><div class="passage__src" dir="auto">'
            f"{_e(where)}{cited} · {_e(p.language)}</div>"
            f'<div class="passage__text" dir="{_dir(p.language)}">{_e(text)}</div></li>'
        )
    cited_count = sum(p.cited for p in passages)
    return (
        f"<details><summary>Passages ({len(passages)}, {cited_count} cited)</summary>"
        f'<ul class="passages">{"".join(items)}</ul></details>'
    )


def _turn(turn: TurnOutcome) -> str:
    checks = "".join(
        f'<li class="{"ok" if c.passed else "bad"}" dir="auto">'
        f"<b>{_e(c.name)}</b>: {_e(c.detail)}</li>"
        for c in turn.checks
    )
    scores = ", ".join(f"{METRIC_INFO[k].label} {v:.2f}" for k, v in turn.scores.items())
    state = "passed" if turn.passed else "failed" if turn.status == "judged" else turn.status
    return (
        f'<div class="turn"><div class="label">Turn {turn.index} · '
        f'<span class="state state--{"passed" if turn.passed else "failed"}">'
        f"{_e(state.replace('_', ' '))}</span></div>"
        '<div class="turn__cols"><div>'
        f'<div class="label">Customer ({_e(turn.language)})</div>'
        f'<div class="bubble bubble--customer" dir="{_dir(turn.language)}">{_e(turn.text)}</div>'
        f'<div class="label label--spaced">Expected</div>{_expected(turn)}</div>'
        f'<div><div class="label">Agent</div>{_actual(turn)}</div></div>'
        + (f'<ul class="checks">{checks}</ul>' if checks else "")
        + (f'<p class="legend">{_e(scores)}</p>' if scores else "")
        + _passages(turn.passages)
        + "</div>"
    )


def _anchor(case: CaseOutcome) -> str:
    return "case-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in case.key)


def _tags(case: CaseOutcome) -> str:
    return "".join(f'<span class="tag">{_e(tag)}</span>' for tag in case.tags)


def _failed_cases(cases: Sequence[CaseOutcome]) -> str:
    failed = [c for c in cases if not c.passed]
    if not failed:
        return "<p>Every case passed.</p>"
    index = "".join(
        f'<tr><td class="mono"><a href="#{_anchor(c)}">{_e(c.id)}</a></td>'
        f"<td>{_e(c.suite)}</td><td>{_e(c.language)}</td>"
        f'<td dir="auto">{_e(failure_summary(c))}</td></tr>'
        for c in failed
    )
    blocks = "".join(
        f'<article class="case" id="{_anchor(c)}"><div class="case__head">'
        f'<span class="case__id">{_e(c.id)}</span><span class="muted">{_e(c.suite)}</span>'
        f"<span>{_tags(c)}</span></div>"
        + (f'<p class="case__desc" dir="auto">{_e(c.description)}</p>' if c.description else "")
        + "".join(_turn(t) for t in c.turns)
        + "</article>"
        for c in failed
    )
    return (
        "<table><thead><tr><th>Case</th><th>Suite</th><th>Language</th><th>What failed</th>"
        f"</tr></thead><tbody>{index}</tbody></table>{blocks}"
    )


# --- the page ------------------------------------------------------------------------------


def render(
    record: RunRecord,
    comparison: Comparison | None = None,
    thresholds: Sequence[Threshold] = (),
    failures: Sequence[GateFailure] = (),
) -> str:
    metrics = compute(record.outcomes)
    settings = record.settings
    duration = (
        f"{(record.finished_at - record.created_at).total_seconds():.0f} s"
        if record.finished_at
        else "unfinished"
    )
    meta = [
        ("tenant", record.tenant),
        ("run", record.id),
        ("started", _when(record.created_at)),
        ("took", duration),
        ("suite version", record.suite_version),
        ("knowledge base", str(settings.get("kb_fingerprint", record.kb_version))),
        ("mode", str(settings.get("mode", "?"))),
        ("status", record.status),
    ]
    latencies = [t.latency_ms for c in record.outcomes for t in c.turns if t.latency_ms is not None]
    not_judged = (
        f" · {metrics.not_reached} turns not reached, {metrics.errors} errors"
        if metrics.not_reached or metrics.errors
        else ""
    )
    failed_count = metrics.cases.total - metrics.cases.passed
    body = [
        f"<header><h1>Evaluation — {_e(record.suite)}</h1>",
        '<ul class="meta">'
        + "".join(f"<li>{_e(k)} <b>{_e(v)}</b></li>" for k, v in meta)
        + "</ul></header>",
        _gate_banner(thresholds, failures),
        _warnings(record),
        "<h2 id='summary'>Summary</h2>",
        f"<p class='muted'>{metrics.cases.total} cases, {metrics.turns} customer turns "
        f"({metrics.judged} judged{not_judged}). Rates are shares of the turns a check "
        "applies to; — means not measured.</p>",
        _cards(record, metrics, comparison, thresholds, failures),
        _comparison(comparison) if comparison else "",
        "<h2 id='routing'>Routing</h2><div class='routing'>",
        f"<div><h3>Actions</h3>{heatmap(metrics.action_confusion, ACTIONS_CAPTION)}</div>",
        f"<div><h3>Adviser queues</h3>{heatmap(metrics.category_confusion, QUEUES_CAPTION)}</div>",
        "</div>",
        f"<h3 id='escalations'>Escalations per queue</h3>{_category_table(metrics)}",
        "<h2 id='breakdowns'>Breakdowns</h2>",
        _groups(metrics),
        "<h2 id='quality'>Answer quality</h2>",
        _quality(metrics, record),
        "<h2 id='latency'>Latency</h2>",
        latency_histogram(latencies, metrics.latency_p50_ms, metrics.latency_p95_ms),
        f"<h2 id='failures'>Failed cases ({failed_count})</h2>",
        _failed_cases(record.outcomes),
    ]
    title = f"Evaluation {record.suite} — {record.tenant}"
    return (
        '<!DOCTYPE html>\n<html lang="en" dir="ltr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )
