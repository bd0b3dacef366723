"""Retrieval evaluation: does the expected KB entry come back in the top k?

A query set is JSONL: ``{"id", "query", "language", "kind", "expected": [{"source",
"title"?, "page"?}, ...]}``. A query is found at k when any expected entry matches one of
the first k chunks (same source, and same title / page where given).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from knowledge_base.retrieval import RetrievedChunk

Search = Callable[[str, int], list[RetrievedChunk]]


class ExpectedEntry(BaseModel):
    source: str
    title: str | None = None
    page: int | None = None

    def matches(self, chunk: RetrievedChunk) -> bool:
        return (
            chunk.source == self.source
            and (self.title is None or chunk.title == self.title)
            and (self.page is None or chunk.page == self.page)
        )


class RetrievalQuery(BaseModel):
    id: str
    query: str = Field(min_length=1)
    language: str
    kind: str = "direct"
    expected: list[ExpectedEntry] = Field(min_length=1)


class QuerySetError(ValueError):
    pass


def load_queries(path: Path) -> list[RetrievalQuery]:
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            queries.append(RetrievalQuery.model_validate_json(line))
        except ValidationError as exc:
            raise QuerySetError(f"{path}:{number}: {exc.errors()[0]['msg']}") from exc
    return queries


@dataclass
class QueryOutcome:
    query: RetrievalQuery
    rank: int | None
    """1-based rank of the first matching chunk, None if not in the results."""
    top: list[RetrievedChunk]


@dataclass(frozen=True)
class RecallRow:
    group: str
    n: int
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    mrr: float


def run(search: Search, queries: list[RetrievalQuery], k: int = 5) -> list[QueryOutcome]:
    outcomes = []
    for q in queries:
        results = search(q.query, k)
        rank = next(
            (i for i, chunk in enumerate(results, 1) if any(e.matches(chunk) for e in q.expected)),
            None,
        )
        outcomes.append(QueryOutcome(q, rank, results))
    return outcomes


def _row(group: str, outcomes: list[QueryOutcome]) -> RecallRow:
    n = len(outcomes)

    def recall(k: int) -> float:
        return sum(1 for o in outcomes if o.rank is not None and o.rank <= k) / n if n else 0.0

    mrr = sum(1 / o.rank for o in outcomes if o.rank) / n if n else 0.0
    return RecallRow(group, n, recall(1), recall(3), recall(5), mrr)


def recall_table(outcomes: list[QueryOutcome]) -> list[RecallRow]:
    """One row per language, then the overall row."""
    groups: dict[str, list[QueryOutcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.query.language].append(o)
    order = ["fr", "ar", "darija", "arabizi", "en"]
    rows = [
        _row(g, groups[g])
        for g in sorted(
            groups, key=lambda g: (g not in order, order.index(g) if g in order else 0, g)
        )
    ]
    return [*rows, _row("overall", outcomes)]


def format_table(rows: list[RecallRow], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'language':<10} {'n':>4} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'MRR':>6}")
    for r in rows:
        lines.append(
            f"{r.group:<10} {r.n:>4} {r.recall_at_1:>6.3f} {r.recall_at_3:>6.3f} "
            f"{r.recall_at_5:>6.3f} {r.mrr:>6.3f}"
        )
    return "\n".join(lines)


def rows_as_json(rows: list[RecallRow]) -> str:
    return json.dumps([r.__dict__ for r in rows], indent=2)
