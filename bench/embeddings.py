"""Choosing the default embedding model with numbers (``bench/results/embeddings.json``).

For each bundled model (USE multilingual, multilingual-e5-small, and their ensemble) the
sample tenants are ingested and both query sets searched: recall@3 per language, ingest
time, and hybrid search latency, all in one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.report import percentiles, write_results
from eval.retrieval import QueryOutcome, Search, load_queries, recall_table, run
from eval.retrieval_report import QUERY_SETS
from knowledge_base.retrieval import RetrievedChunk
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container

MODELS = ("use-multilingual", "e5-small", "ensemble")


def _timed(search: Search, latencies: list[float]) -> Search:
    def timed(query: str, k: int) -> list[RetrievedChunk]:
        started = time.perf_counter()
        found = search(query, k)
        latencies.append((time.perf_counter() - started) * 1000)
        return found

    return timed


def measure(model: str, samples: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="rafiq-emb-") as data:
        container = Container(Settings(data_dir=Path(data), embeddings=model))
        outcomes: dict[str, list[QueryOutcome]] = {name: [] for name in QUERY_SETS}
        latencies: list[float] = []
        ingest_s = 0.0
        for folder in sample_tenant_dirs(samples):
            started = time.perf_counter()
            tenant = load_sample_tenant(container, folder).name
            ingest_s += time.perf_counter() - started

            timed = _timed(container.retriever(tenant).search, latencies)
            for name, file in QUERY_SETS.items():
                outcomes[name] += run(timed, load_queries(folder / file), 5)
    recall = {
        name: {row.group: round(row.recall_at_3, 3) for row in recall_table(found)}
        for name, found in outcomes.items()
    }
    return {
        "recall_at_3": recall,
        "ingest_seconds": round(ingest_s, 1),
        "search": percentiles(latencies),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--samples", type=Path, default=Path("samples"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/embeddings.json"))
    args = parser.parse_args(argv)
    results = {}
    for model in args.models:
        print(f"measuring {model}…", file=sys.stderr)
        results[model] = measure(model, args.samples)
        print(json.dumps(results[model]), file=sys.stderr)
    write_results(
        args.out,
        "embeddings",
        results,
        note="dev sets were used to build the lexicons; holdout sets never were",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
