"""Fitting the learned screening layer, and measuring it where it was not fitted.

``python -m eval.screening_calibration fit`` fits the manipulation and threat models
(agent/screening_model.py) on ``samples/manipulation/fit/*.jsonl`` (attacks and
look-alike ordinary messages in five languages) with every ordinary customer message of
the sample tenants' *fit* sets as negatives (routing, retrieval and out-of-domain sets),
chooses each threshold so that at most MAX_FALSE_POSITIVES of those negatives would be
stopped, and writes ``agent/screening_model.json``.

``python -m eval.screening_calibration report`` prints recall per language and topic and
false refusals on both the fit and the held-out sets (``samples/manipulation/holdout``,
``routing_holdout.jsonl``...), which are never fitted on.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.policy import LANGUAGES
from agent.screening import screen
from agent.screening_model import LearnedScreener, ScreeningModel
from eval.calibration import command_line, fit_standardised, load_out_of_domain, threshold_for
from eval.retrieval import load_queries
from eval.routing import load_cases
from knowledge_base.embeddings import Embedder
from knowledge_base.embeddings.factory import create_embedder
from rafiq.demo import sample_tenant_dirs

MODEL_PATH = Path("agent/screening_model.json")
MAX_FALSE_POSITIVES = 0.003
L2 = 30.0
EMBEDDINGS = "use-multilingual"


@dataclass(frozen=True)
class Labelled:
    text: str
    language: str
    source: str
    topic: str
    manipulation: bool
    threat: bool
    refusal_expected: bool = False
    """An insult is refused too (with a courtesy warning), so refusing it is no mistake."""


def load(samples: Path, split: str) -> list[Labelled]:
    rows: list[Labelled] = []
    for path in sorted((samples / "manipulation" / split).glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for d in (json.loads(line) for line in lines if line.strip()):
            attack = d["kind"] == "attack"
            threat = attack and d.get("expected_category") == "distress"
            rows.append(
                Labelled(
                    d["message"],
                    d["language"],
                    "manipulation",
                    d["topic"],
                    attack and not threat,
                    threat,
                )
            )
    routing = "routing_eval.jsonl" if split == "fit" else "routing_holdout.jsonl"
    retrieval = "retrieval_eval.jsonl" if split == "fit" else "retrieval_holdout.jsonl"
    ordinary = "answerability_fit.jsonl" if split == "fit" else "answerability_holdout.jsonl"
    for folder in sample_tenant_dirs(samples):
        for c in load_cases(folder / routing):
            rows.append(
                Labelled(
                    c.message,
                    c.language,
                    "routing",
                    c.expected_category or c.expected_action,
                    c.expected_action == "refuse"
                    and c.expected_category is None
                    and "insult" not in (c.note or ""),
                    c.expected_category == "distress",
                    c.expected_action == "refuse",
                )
            )
        for q in load_queries(folder / retrieval):
            rows.append(Labelled(q.query, q.language, "retrieval", "faq", False, False))
        for o in load_out_of_domain(folder / ordinary):
            rows.append(Labelled(o.message, o.language, "out_of_domain", o.kind, False, False))
    return rows


def _vectors(embedder: Embedder, rows: list[Labelled]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(embedder.embed_queries([r.text for r in rows]), dtype=np.float64)


def fit(embedder: Embedder, rows: list[Labelled]) -> ScreeningModel:
    x = _vectors(embedder, rows)
    manipulation = np.asarray([r.manipulation for r in rows], dtype=np.float64)
    threat = np.asarray([r.threat for r in rows], dtype=np.float64)
    m_model = fit_standardised(x, manipulation, L2)
    t_model = fit_standardised(x, threat, L2)
    # Thresholds on the messages that must go through: neither manipulation nor threat.
    ordinary = (manipulation == 0) & (threat == 0)
    return ScreeningModel(
        embedder=embedder.name,
        manipulation=m_model,
        manipulation_threshold=threshold_for(
            m_model.probabilities(x[ordinary]), MAX_FALSE_POSITIVES
        ),
        threat=t_model,
        threat_threshold=threshold_for(
            t_model.probabilities(x[ordinary | (manipulation == 1)]), MAX_FALSE_POSITIVES
        ),
    )


def report(screener: LearnedScreener, rows: list[Labelled], title: str) -> str:
    """Recognised = refused or escalated (patterns or model); false refusals on the rest."""
    caught: dict[str, list[bool]] = defaultdict(list)
    by_topic: dict[str, list[bool]] = defaultdict(list)
    false_refusals: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        learned = screener.screen(r.text).verdict
        patterns = screen(r.text).verdict
        stopped = learned != "ok" or patterns == "injection"
        if r.source == "manipulation" and (r.manipulation or r.threat):
            caught[r.language].append(stopped)
            by_topic[r.topic].append(stopped)
        elif not (r.manipulation or r.threat or r.refusal_expected):
            refused = learned == "manipulation" or patterns == "injection"
            false_refusals[f"{r.source}:{r.language}"].append(refused)
            false_refusals[r.source].append(refused)
    lines = [title, f"{'attacks':<24}{'n':>5}{'recognised':>12}"]
    for key in (*LANGUAGES, *sorted(by_topic)):
        values = caught.get(key) or by_topic.get(key) or []
        if values:
            lines.append(f"{key:<24}{len(values):>5}{np.mean(values):>12.3f}")
    every = [v for k in LANGUAGES for v in caught.get(k, [])]
    lines.append(f"{'overall':<24}{len(every):>5}{np.mean(every) if every else 0:>12.3f}")
    lines.append(f"{'ordinary messages':<24}{'n':>5}{'refused':>12}")
    for key in sorted(false_refusals):
        values = false_refusals[key]
        lines.append(f"{key:<24}{len(values):>5}{np.mean(values):>12.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = command_line(__doc__, MODEL_PATH, argv)
    embedder = create_embedder(EMBEDDINGS)
    fit_rows = load(args.samples, "fit")
    if args.command == "fit":
        model = fit(embedder, fit_rows)
        args.model.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
        print(
            f"wrote {args.model}: manipulation from {model.manipulation_threshold:.3f}, "
            f"threat from {model.threat_threshold:.3f}"
        )
    else:
        model = ScreeningModel.from_json(json.loads(args.model.read_text(encoding="utf-8")))
    screener = LearnedScreener(embedder, model)
    print(report(screener, fit_rows, "\nfit sets"))
    print(report(screener, load(args.samples, "holdout"), "\nheld-out sets"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
