"""Retrieval benchmark: ``make bench`` → ``bench/results/retrieval.json``.

Builds synthetic knowledge bases of 1k and 10k chunks from the sample tenants' own
sentences (so the text is realistic Moroccan French and Arabic), then measures in one
run: ingestion throughput, Rafiq's hybrid search latency, and the bare cost of one
query embedding plus one Chroma query by vector. The ratio of the two is the figure
that survives a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.report import percentiles, write_results
from eval.retrieval import load_queries
from knowledge_base.chunking import sentences_of
from knowledge_base.ingest import IngestOptions, ingest
from knowledge_base.loaders import load_document
from rafiq.settings import Settings
from rafiq.wiring import Container

SAMPLES = Path("samples")
ENTRIES_PER_FILE = 100


def _corpus_sentences() -> list[str]:
    sentences: list[str] = []
    for path in sorted(SAMPLES.glob("*/kb/*")):
        for section in load_document(path, path.name).sections:
            sentences.extend(s for s in sentences_of(section.text) if len(s) > 30)
    return sentences


def _write_corpus(folder: Path, chunks: int, rng: random.Random) -> None:
    """FAQ files whose entries are short enough to be one chunk each."""
    sentences = _corpus_sentences()
    folder.mkdir(parents=True)
    for file_number in range(chunks // ENTRIES_PER_FILE):
        lines = ["# Questions fréquentes", ""]
        for entry in range(ENTRIES_PER_FILE):
            question = rng.choice(sentences).rstrip(".") + f" (réf. {file_number}-{entry}) ?"
            lines += [f"## {question}", " ".join(rng.sample(sentences, 2)), ""]
        (folder / f"faq_{file_number:03d}.md").write_text("\n".join(lines), encoding="utf-8")


def bench_size(container: Container, chunks: int, queries: list[str], k: int) -> dict[str, object]:
    rng = random.Random(chunks)
    tenant = f"bench-{chunks}"
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "kb"
        _write_corpus(corpus, chunks, rng)
        store = container.store(tenant)
        started = time.perf_counter()
        report = ingest(store, [corpus], IngestOptions())
        ingest_s = time.perf_counter() - started
    retriever = container.retriever(tenant)
    embedder = store.embedder
    collection = store.collection

    def bare_search(query: str) -> None:
        """What a minimal retriever does: embed once, fetch the k nearest with their text."""
        collection.query(query_embeddings=embedder.embed_queries([query]), n_results=k)

    for q in queries[:20]:  # warm caches, the lexical index and the ONNX session
        retriever.search(q, k)
        bare_search(q)

    rafiq_ms: list[float] = []
    bare_ms: list[float] = []
    for q in queries:
        t0 = time.perf_counter()
        bare_search(q)
        t1 = time.perf_counter()
        retriever.search(q, k)
        t2 = time.perf_counter()
        bare_ms.append((t1 - t0) * 1000)
        rafiq_ms.append((t2 - t1) * 1000)
    rafiq, bare = percentiles(rafiq_ms), percentiles(bare_ms)
    return {
        "chunks": store.count(),
        "vectors": store.collection.count(),
        "ingest_seconds": round(ingest_s, 2),
        "ingest_chunks_per_s": round(report.chunks_added / ingest_s, 1),
        "queries": len(queries),
        "rafiq_search": rafiq,
        "bare_embed_plus_chroma": bare,
        "ratio_p50": round(rafiq["p50_ms"] / bare["p50_ms"], 2),
        "ratio_p95": round(rafiq["p95_ms"] / bare["p95_ms"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/retrieval.json"))
    args = parser.parse_args(argv)
    queries = [
        q.query for f in sorted(SAMPLES.glob("*/retrieval_eval.jsonl")) for q in load_queries(f)
    ]
    results = {}
    with tempfile.TemporaryDirectory(prefix="rafiq-bench-") as data:
        settings = Settings(data_dir=Path(data))
        container = Container(settings)
        for size in args.sizes:
            print(f"benchmarking {size} chunks…", file=sys.stderr)
            results[str(size)] = bench_size(container, size, queries, args.k)
            print(json.dumps(results[str(size)], indent=2), file=sys.stderr)
    write_results(
        args.out,
        "retrieval",
        results,
        embeddings=settings.embeddings,
        k=args.k,
        targets={"p95_ms_at_10k": 25, "max_ratio_to_bare": 2.0},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
