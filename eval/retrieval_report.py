"""Recall tables for the sample tenants' retrieval sets: ``python -m eval.retrieval_report``.

Each sample tenant is ingested into a throw-away data directory, so the figures never
depend on what a developer's ``var/`` holds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from eval.retrieval import QueryOutcome, format_table, load_queries, recall_table, run
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container

QUERY_SETS = {"dev": "retrieval_eval.jsonl", "holdout": "retrieval_holdout.jsonl"}


def evaluate_samples(
    samples_dir: Path,
    data_dir: Path,
    embeddings: str = "use-multilingual",
    k: int = 5,
    query_set: str = "dev",
) -> dict[str, list[QueryOutcome]]:
    """Recall of each sample tenant on its ``dev`` set (used to build the lexicons) or its
    ``holdout`` set (written separately and never used for tuning)."""
    container = Container(
        Settings(data_dir=data_dir, embeddings=embeddings, samples_dir=samples_dir)
    )
    results: dict[str, list[QueryOutcome]] = {}
    for folder in sample_tenant_dirs(samples_dir):
        queries_file = folder / QUERY_SETS[query_set]
        if not queries_file.is_file():
            continue
        tenant = load_sample_tenant(container, folder).name
        results[tenant] = run(container.retriever(tenant).search, load_queries(queries_file), k)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=Path, default=Path("samples"))
    parser.add_argument("--embeddings", default="use-multilingual")
    parser.add_argument("--set", dest="query_set", choices=sorted(QUERY_SETS), default="dev")
    parser.add_argument("--misses", action="store_true", help="List the queries not found at 3.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rafiq-recall-") as tmp:
        results = evaluate_samples(
            args.samples, Path(tmp), args.embeddings, query_set=args.query_set
        )
    everything = [o for outcomes in results.values() for o in outcomes]
    tables = {t: recall_table(o) for t, o in results.items()} | {"all": recall_table(everything)}
    if args.json:
        print(json.dumps({t: [r.__dict__ for r in rows] for t, rows in tables.items()}, indent=2))
        return 0
    for tenant, rows in tables.items():
        print(format_table(rows, f"\n{tenant} ({args.embeddings}, {args.query_set} set)"))
    if args.misses:
        for o in everything:
            if o.rank is None or o.rank > 3:
                want = o.query.expected[0]
                got = " | ".join(f"{c.source}:{c.title}" for c in o.top[:3])
                print(f"- [{o.query.language}] {o.query.query}")
                print(f"    want {want.source}:{want.title or want.page}\n    got  {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
