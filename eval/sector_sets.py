"""The multi-sector triage sets: customer messages of ten sectors, fit and held-out parts.

Each ``samples/sectors/<sector>/`` holds ``fit.jsonl`` and ``holdout.jsonl`` (one
:class:`SectorCase` per line) and ``faq.md``, the small FAQ of a fictional company of the
sector. ``python -m eval.sector_sets split <folder>...`` turns a folder's written
``messages.jsonl`` into the two parts: by *scenario*, so that a message and its
translations always land on the same side, and by a hash, so that nobody chooses which
messages are held out.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from agent.policy import LANGUAGES, default_policy

HOLDOUT_ONE_IN = 3
"""About a third of the scenarios are held out."""


class SectorCase(BaseModel):
    id: str
    scenario: str
    sector: str
    language: Literal["fr", "ar", "darija", "arabizi", "en"]
    message: str = Field(min_length=1)
    expected_action: Literal["escalate", "ordinary"]
    expected_category: str | None = None

    @model_validator(mode="after")
    def _category_for_escalations(self) -> SectorCase:
        known = {c.name for c in default_policy().enabled()}
        if (self.expected_action == "escalate") != (self.expected_category is not None):
            raise ValueError("expected_category is given exactly for escalations")
        if self.expected_category is not None and self.expected_category not in known:
            raise ValueError(f"unknown category {self.expected_category!r}")
        return self


def load_cases(path: Path) -> list[SectorCase]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [SectorCase.model_validate_json(line) for line in lines if line.strip()]


def held_out(scenario: str) -> bool:
    digest = hashlib.sha256(scenario.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % HOLDOUT_ONE_IN == 0


def split(folder: Path) -> Counter[str]:
    cases = load_cases(folder / "messages.jsonl")
    parts: dict[str, list[str]] = {"fit": [], "holdout": []}
    for case in cases:
        parts["holdout" if held_out(case.scenario) else "fit"].append(case.model_dump_json())
    for name, lines in parts.items():
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "messages.jsonl").unlink()
    return Counter({name: len(lines) for name, lines in parts.items()})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != "split":
        print("usage: python -m eval.sector_sets split FOLDER...", file=sys.stderr)
        return 2
    for folder in map(Path, args[1:]):
        counts = split(folder)
        print(f"{folder}: {counts['fit']} fit, {counts['holdout']} held out")
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["LANGUAGES", "SectorCase", "held_out", "load_cases", "split"]
