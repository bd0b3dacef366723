"""Fitting the answerability model, and measuring it where it was not fitted.

``python -m eval.calibration fit`` ingests the sample tenants into a throw-away data
directory, retrieves candidates for the *fit* sets only (each tenant's
``retrieval_eval.jsonl``: questions with the entry that answers them, and
``answerability_fit.jsonl``: messages the documents do not answer), fits a logistic
regression with numpy, chooses the threshold and writes ``agent/answerability_model.json``.

``python -m eval.calibration report`` measures the packaged model on both the fit sets and
the held-out sets (``retrieval_holdout.jsonl``, ``answerability_holdout.jsonl``, and the
tenant under ``samples/unseen/`` that nothing is ever fitted on), so that the figure that
counts is the one the model never saw.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from agent.answerability import (
    CANDIDATES,
    FEATURES,
    AnswerabilityModel,
    Assessment,
    assess,
    candidate_features,
    rank,
)
from agent.language import turn_language
from agent.logistic import Logistic
from agent.policy import LANGUAGES
from eval.retrieval import ExpectedEntry, load_queries
from knowledge_base.retrieval import HybridRetriever, RetrievedChunk
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container

MODEL_PATH = Path("agent/answerability_model.json")
UNSEEN = "unseen"
"""Under the samples folder: tenants nothing is ever fitted on."""
# The answer threshold of each language lets at most this share of the fit set's
# out-of-domain messages through: two in sixty.
TARGET_OUT_OF_DOMAIN = 0.034
# Below the share of out-of-domain messages that still get the closest entries offered,
# the reply is a plain "not in our documents".
SUGGEST_OUT_OF_DOMAIN = 0.5
L2 = 1.0

Split = Literal["fit", "holdout"]


class OutOfDomainCase(BaseModel):
    id: str
    message: str = Field(min_length=1)
    language: str
    kind: Literal["out_of_domain", "half_in_scope"]
    topic: str | None = None
    entry: str | None = None


def load_out_of_domain(path: Path) -> list[OutOfDomainCase]:
    return [
        OutOfDomainCase.model_validate_json(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@dataclass(frozen=True)
class Example:
    """One message with its retrieved candidates; ``expected`` is empty when the
    documents do not answer it."""

    tenant: str
    split: Split
    kind: str
    language: str
    text: str
    chunks: list[RetrievedChunk]
    expected: list[ExpectedEntry]
    reply_language: str
    detected: str

    def labels(self) -> list[bool]:
        return [any(e.matches(c) for e in self.expected) for c in self.chunks]

    def features(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        return candidate_features(self.chunks, self.text, self.reply_language, self.detected)


def _example(
    retriever: HybridRetriever,
    tenant: str,
    split: Split,
    kind: str,
    language: str,
    text: str,
    expected: list[ExpectedEntry],
    arabizi_reply: Literal["fr", "ar", "en"],
) -> Example:
    detected = turn_language(text, None, arabizi_reply)
    return Example(
        tenant,
        split,
        kind,
        language,
        text,
        retriever.search(text, CANDIDATES),
        expected,
        detected.reply,
        detected.detected,
    )


def _tenant_folders(samples: Path) -> list[tuple[Path, bool]]:
    """Sample tenants (fitted on) and unseen tenants (only ever measured)."""
    seen = sample_tenant_dirs(samples)
    unseen = sample_tenant_dirs(samples / UNSEEN)
    return [(f, False) for f in seen] + [(f, True) for f in unseen]


def collect(samples: Path, data_dir: Path, splits: Iterable[Split]) -> list[Example]:
    container = Container(Settings(data_dir=data_dir, samples_dir=samples))
    wanted = set(splits)
    examples: list[Example] = []
    for folder, unseen in _tenant_folders(samples):
        if unseen and "holdout" not in wanted:
            continue
        tenant = load_sample_tenant(container, folder).name
        retriever = container.retriever(tenant)
        profile = container.tenant_context(tenant).profile
        files: list[tuple[Split, Path, Path]] = (
            [("holdout", folder / "in_domain.jsonl", folder / "out_of_domain.jsonl")]
            if unseen
            else [
                ("fit", folder / "retrieval_eval.jsonl", folder / "answerability_fit.jsonl"),
                (
                    "holdout",
                    folder / "retrieval_holdout.jsonl",
                    folder / "answerability_holdout.jsonl",
                ),
            ]
        )
        for split, in_domain, out_of_domain in files:
            if split not in wanted:
                continue
            queries = load_queries(in_domain) if in_domain.is_file() else []
            others = load_out_of_domain(out_of_domain) if out_of_domain.is_file() else []
            for query in queries:
                examples.append(
                    _example(
                        retriever,
                        tenant,
                        split,
                        "in_domain",
                        query.language,
                        query.query,
                        query.expected,
                        profile.arabizi_reply,
                    )
                )
            for case in others:
                examples.append(
                    _example(
                        retriever,
                        tenant,
                        split,
                        case.kind,
                        case.language,
                        case.message,
                        [ExpectedEntry(source="faq_fr.md", title=case.entry)] if case.entry else [],
                        profile.arabizi_reply,
                    )
                )
    return examples


def fit_logistic(
    x: np.ndarray[Any, np.dtype[np.float64]],
    y: np.ndarray[Any, np.dtype[np.float64]],
    sample_weight: np.ndarray[Any, np.dtype[np.float64]],
    l2: float = L2,
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], float]:
    """Weighted, L2-regularised logistic regression by Newton's method (IRLS)."""
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (sample_weight * (p - y)) + penalty * beta
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def fit_standardised(
    x: np.ndarray[Any, np.dtype[np.float64]],
    y: np.ndarray[Any, np.dtype[np.float64]],
    l2: float = L2,
) -> Logistic:
    """A logistic regression on standardised features, the classes weighing the same."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    # Positives and negatives weigh the same in total, whatever their numbers.
    share = min(max(float(y.mean()), 1e-9), 1 - 1e-9)
    weight = np.where(y == 1, 0.5 / share, 0.5 / (1 - share))
    weights, bias = fit_logistic((x - mean) / scale, y, weight, l2)
    return Logistic(weights, bias, mean, scale)


def fit(examples: list[Example]) -> AnswerabilityModel:
    """The choice model on the in-domain questions' candidates, then the answerable model
    on every message: positive when the chosen entry is the right one, so that its
    probability is the probability that answering is right."""
    usable = [e for e in examples if e.kind in ("in_domain", "out_of_domain") and e.chunks]
    in_domain = [e for e in usable if e.kind == "in_domain"]
    choice = fit_standardised(
        np.vstack([e.features() for e in in_domain]),
        np.concatenate([np.asarray(e.labels(), dtype=np.float64) for e in in_domain]),
    )
    rows, labels = [], []
    for e in usable:
        order, summary = rank(choice, e.features())
        rows.append(summary)
        labels.append(1.0 if e.labels()[order[0]] else 0.0)
    answerable = fit_standardised(np.vstack(rows), np.asarray(labels))
    draft = AnswerabilityModel(choice, answerable, {}, 1.0)
    scores: dict[str, list[float]] = defaultdict(list)
    for e in usable:
        if e.kind == "out_of_domain":
            # By the language the agent will detect, since that is what it looks up.
            scores[e.detected].append(_assess(draft, e).probability)
    everything = [p for v in scores.values() for p in v]
    return AnswerabilityModel(
        choice,
        answerable,
        answer_threshold={
            k: threshold_for(v, TARGET_OUT_OF_DOMAIN) for k, v in sorted(scores.items())
        },
        suggest_threshold=threshold_for(everything, SUGGEST_OUT_OF_DOMAIN),
    )


def threshold_for(scores: Iterable[float], share: float) -> float:
    """The lowest threshold that lets at most ``share`` of ``scores`` through."""
    ordered = sorted(scores, reverse=True)
    allowed = int(share * len(ordered))
    return ordered[allowed] + 1e-6 if allowed < len(ordered) else 0.0


def _assess(model: AnswerabilityModel, e: Example) -> Assessment:
    return assess(
        e.chunks, e.text, reply_language=e.reply_language, language=e.detected, model=model
    )


@dataclass(frozen=True)
class Row:
    group: str
    n: int
    answered: float
    right_entry: float
    """Answered with an expected entry."""
    offered: float
    """Given the two closest entries to choose from instead of an answer."""
    offered_right: float
    """... one of which was an expected entry."""
    first_passage: float
    """What the first retrieved passage alone would give: the right entry at rank 1."""


def table(model: AnswerabilityModel, examples: list[Example], kind: str) -> list[Row]:
    groups: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        if e.kind == kind:
            groups[e.language].append(e)
            groups["overall"].append(e)
    rows = []
    for language in (*LANGUAGES, "overall"):
        members = groups.get(language, [])
        if not members:
            continue
        answered = right = offered = offered_right = first = 0
        for e in members:
            verdict = _assess(model, e)
            if verdict.verdict == "answer" and verdict.best is not None:
                answered += 1
                right += any(x.matches(verdict.best) for x in e.expected)
            elif verdict.verdict == "suggest":
                offered += 1
                offered_right += any(x.matches(c) for x in e.expected for c in verdict.ranked[:2])
            first += bool(e.chunks) and any(x.matches(e.chunks[0]) for x in e.expected)
        n = len(members)
        rows.append(
            Row(language, n, answered / n, right / n, offered / n, offered_right / n, first / n)
        )
    return rows


def format_rows(title: str, rows: list[Row]) -> str:
    header = ("language", "n", "answered", "right entry", "offered", "offered right", "first")
    lines = [title, f"{header[0]:<10}" + "".join(f"{h:>14}" for h in header[1:])]
    lines += [
        f"{r.group:<10}{r.n:>14}"
        + "".join(
            f"{v:>14.3f}"
            for v in (r.answered, r.right_entry, r.offered, r.offered_right, r.first_passage)
        )
        for r in rows
    ]
    return "\n".join(lines)


def report(model: AnswerabilityModel, examples: list[Example]) -> str:
    parts = []
    for split in ("fit", "holdout"):
        for tenant in [*sorted({e.tenant for e in examples if e.split == split}), "all"]:
            chosen = [e for e in examples if e.split == split and tenant in ("all", e.tenant)]
            for kind in ("in_domain", "out_of_domain", "half_in_scope"):
                rows = table(model, chosen, kind)
                if rows:
                    parts.append(format_rows(f"\n{split} · {tenant} · {kind}", rows))
    return "\n".join(parts)


def command_line(
    description: str | None, model: Path, argv: list[str] | None
) -> argparse.Namespace:
    """``fit`` or ``report``, the samples folder and the model file: both calibrations."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("command", choices=("fit", "report"))
    parser.add_argument("--samples", type=Path, default=Path("samples"))
    parser.add_argument("--model", type=Path, default=model)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = command_line(__doc__, MODEL_PATH, argv)
    with tempfile.TemporaryDirectory(prefix="rafiq-calibration-") as tmp:
        splits: list[Split] = ["fit"] if args.command == "fit" else ["fit", "holdout"]
        examples = collect(args.samples, Path(tmp), splits)
    if args.command == "fit":
        model = fit(examples)
        args.model.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
        print(
            f"wrote {args.model} ({len(FEATURES)} features, answer from "
            f"{min(model.answer_threshold.values()):.3f} to "
            f"{max(model.answer_threshold.values()):.3f} by language, "
            f"suggest from {model.suggest_threshold:.3f})"
        )
    else:
        model = AnswerabilityModel.from_json(json.loads(args.model.read_text(encoding="utf-8")))
    print(report(model, examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
