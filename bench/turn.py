"""Agent turn benchmark: ``make bench`` → ``bench/results/turn.json``.

An extractive turn (redaction, screening, triage, retrieval, answer, and the database
writes of a real conversation) on a 10,000-chunk tenant, against the bare hybrid
retrieval of the same message measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from agent.result import TurnResult
from bench.report import percentiles, write_results
from bench.retrieval import _write_corpus
from eval.routing import load_cases
from knowledge_base.ingest import IngestOptions, ingest
from rafiq.settings import Settings
from rafiq.wiring import Container


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/turn.json"))
    args = parser.parse_args(argv)
    messages = [
        c.message
        for f in sorted(Path("samples").glob("*/routing_eval.jsonl"))
        for c in load_cases(f)
    ]
    with tempfile.TemporaryDirectory(prefix="rafiq-bench-turn-") as data:
        container = Container(Settings(data_dir=Path(data)))
        container.tenants.create("bench")
        corpus = Path(data) / "kb"
        _write_corpus(corpus, args.chunks, random.Random(args.chunks))
        print(f"ingesting {args.chunks} chunks…", file=sys.stderr)
        ingest(container.store("bench"), [corpus], IngestOptions())
        retriever = container.retriever("bench")
        for text in messages[:20]:  # warm the triage vectors, lexical index and sessions
            container.agent.turn("bench", text)
            retriever.search(text, 5)
        turn_ms: list[float] = []
        retrieval_ms: list[float] = []
        actions: dict[str, int] = {}
        for text in messages:
            t0 = time.perf_counter()
            retriever.search(text, 5)
            t1 = time.perf_counter()
            result = container.agent.turn("bench", text)
            t2 = time.perf_counter()
            retrieval_ms.append((t1 - t0) * 1000)
            turn_ms.append((t2 - t1) * 1000)
            if isinstance(result, TurnResult):
                actions[result.action] = actions.get(result.action, 0) + 1
        chunks = container.store("bench").count()
    turn, bare = percentiles(turn_ms), percentiles(retrieval_ms)
    write_results(
        args.out,
        "turn",
        {
            "chunks": chunks,
            "messages": len(messages),
            "actions": actions,
            "extractive_turn": turn,
            "bare_retrieval": bare,
            "ratio_p50": round(turn["p50_ms"] / bare["p50_ms"], 2),
            "ratio_p95": round(turn["p95_ms"] / bare["p95_ms"], 2),
        },
        targets={"p95_ms": 50, "max_ratio_to_bare_retrieval": 2.5},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
