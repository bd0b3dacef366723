"""Language-detection evaluation: ``python -m eval.language [--set samples/language_eval.jsonl]``.

A labelled set is JSONL: ``{"id", "text", "language", "ambiguous"?: true}``. Messages flagged
ambiguous (a bare "ok", a brand name, a message honestly in two languages) are left out of
the accuracy and counted apart. The set is split deterministically by the number in the id:
odd ids form the ``dev`` half (read and tuned on), even ids the ``test`` half (only its
aggregate figures are looked at), so the test figure says how the detector generalises.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from knowledge_base.language import LANGUAGES, detect_language

DEFAULT_SET = Path("samples/language_eval.jsonl")
Half = Literal["all", "dev", "test"]
Detector = Callable[[str], str]


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    text: str
    language: str
    ambiguous: bool = False

    @property
    def number(self) -> int:
        digits = re.findall(r"\d+", self.id)
        if not digits:
            raise ValueError(f"id without a number: {self.id!r}")
        return int(digits[-1])

    @property
    def half(self) -> Literal["dev", "test"]:
        return "dev" if self.number % 2 else "test"


@dataclass(frozen=True)
class Outcome:
    message: LabelledMessage
    predicted: str

    @property
    def correct(self) -> bool:
        return self.predicted == self.message.language


@dataclass(frozen=True)
class AccuracyRow:
    group: str
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def load_messages(path: Path) -> list[LabelledMessage]:
    messages = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            messages.append(
                LabelledMessage(
                    id=str(raw["id"]),
                    text=str(raw["text"]),
                    language=str(raw["language"]),
                    ambiguous=bool(raw.get("ambiguous", False)),
                )
            )
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    return messages


def select(messages: Iterable[LabelledMessage], half: Half = "all") -> list[LabelledMessage]:
    return [m for m in messages if half == "all" or m.half == half]


def default_detector(text: str) -> str:
    """The detector as measured: no conversation context, French fallback."""
    return detect_language(text, fallback="fr")


def run(
    messages: Iterable[LabelledMessage], detector: Detector = default_detector
) -> list[Outcome]:
    return [Outcome(m, detector(m.text)) for m in messages]


def _order(groups: Iterable[str]) -> list[str]:
    present = set(groups)
    return [g for g in LANGUAGES if g in present] + sorted(present - set(LANGUAGES))


def accuracy_table(outcomes: list[Outcome]) -> list[AccuracyRow]:
    """One row per language, then ``overall``; ambiguous messages are left out."""
    scored = [o for o in outcomes if not o.message.ambiguous]
    rows = []
    for language in _order(o.message.language for o in scored):
        group = [o for o in scored if o.message.language == language]
        rows.append(AccuracyRow(language, len(group), sum(o.correct for o in group)))
    rows.append(AccuracyRow("overall", len(scored), sum(o.correct for o in scored)))
    return rows


def accuracies(outcomes: list[Outcome]) -> dict[str, float]:
    return {row.group: row.accuracy for row in accuracy_table(outcomes)}


def confusion_matrix(outcomes: list[Outcome]) -> dict[str, Counter[str]]:
    """expected language -> counts of predicted languages (ambiguous messages left out)."""
    matrix: dict[str, Counter[str]] = {}
    for o in outcomes:
        if not o.message.ambiguous:
            matrix.setdefault(o.message.language, Counter())[o.predicted] += 1
    return matrix


def format_table(rows: list[AccuracyRow], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'language':<10} {'n':>4} {'correct':>8} {'accuracy':>9}")
    lines += [f"{r.group:<10} {r.n:>4} {r.correct:>8} {r.accuracy:>9.3f}" for r in rows]
    return "\n".join(lines)


def format_confusion(matrix: dict[str, Counter[str]]) -> str:
    expected = _order(matrix)
    predicted = _order({p for row in matrix.values() for p in row} | set(expected))
    width = max(9, *(len(p) + 1 for p in predicted))
    header = f"{'expected':<10}" + "".join(f"{p:>{width}}" for p in predicted)
    lines = ["confusion matrix (rows: expected, columns: predicted)", header]
    for language in expected:
        lines.append(
            f"{language:<10}" + "".join(f"{matrix[language][p]:>{width}}" for p in predicted)
        )
    return "\n".join(lines)


def format_ambiguous(outcomes: list[Outcome]) -> str:
    ambiguous = [o for o in outcomes if o.message.ambiguous]
    agree = sum(o.correct for o in ambiguous)
    return f"ambiguous (not scored): {len(ambiguous)} messages, {agree} match their label"


def format_report(outcomes: list[Outcome], title: str) -> str:
    return "\n".join(
        [
            format_table(accuracy_table(outcomes), title),
            format_ambiguous(outcomes),
            "",
            format_confusion(confusion_matrix(outcomes)),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", dest="path", type=Path, default=DEFAULT_SET)
    parser.add_argument(
        "--half",
        choices=["all", "dev", "test", "both"],
        default="both",
        help="all: the whole set; dev/test: one half; both: each half, then the whole set",
    )
    parser.add_argument(
        "--misses",
        action="store_true",
        help="List the misclassified messages of the dev half (never the test half).",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    messages = load_messages(args.path)
    halves: list[Half] = ["dev", "test", "all"] if args.half == "both" else [args.half]
    reports = {half: run(select(messages, half)) for half in halves}
    if args.json:
        print(json.dumps({h: accuracies(o) for h, o in reports.items()}, indent=2))
    else:
        for half, outcomes in reports.items():
            print(format_report(outcomes, f"\nlanguage detection, {args.path.name}, {half}"))
    if args.misses:
        print("\nmisclassified, dev half:")
        for o in run(select(messages, "dev")):
            if not o.correct:
                m = o.message
                flag = " (ambiguous)" if m.ambiguous else ""
                print(f"- {m.id} [{m.language} -> {o.predicted}]{flag} {m.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
