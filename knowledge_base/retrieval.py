"""Hybrid retrieval: multilingual dense search and BM25, fused by reciprocal rank.

A Darija or Arabizi query is searched three ways at once: as written, and re-said with
the French and the MSA glosses of its Darija words. Each way contributes a dense ranking;
BM25 ranks on the query's terms plus its glosses. Reciprocal-rank fusion needs no score
calibration between rankings, which matters when the embedding model can be swapped.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knowledge_base.analyzer import STOPWORDS, analyze_query, stem, terms, with_synonyms
from knowledge_base.bm25 import BM25Index
from knowledge_base.normalize import normalize_for_search, words
from knowledge_base.phonetic import skeleton, skeleton_variants
from knowledge_base.store import ALIAS_SEPARATOR, Metadata, StoredChunk, TenantStore, Where


@dataclass(frozen=True)
class FusionWeights:
    """Reciprocal-rank fusion: each ranking adds weight / (k + rank)."""

    k: float = 5.0
    dense: float = 1.0
    """The query as written."""
    gloss: float = 0.7
    """The query re-said with French / MSA glosses of its Darija words."""
    bm25: float = 1.0


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: str
    text: str
    source: str
    title: str | None
    section: str | None
    page: int | None
    language: str
    score: float
    """Fused reciprocal-rank score (higher is better); comparable within one query only."""
    dense_similarity: float
    """Best cosine similarity to any form of the query: an absolute confidence signal."""
    bm25_score: float
    metadata: Metadata = field(default_factory=dict)
    question_similarity: float = 0.0
    """Cosine of the query with the entry's own question (a FAQ entry), else its best record."""
    dense_rank: int | None = None
    """Position in the dense ranking of the query as written (0 is first), None if absent."""
    lexical_rank: int | None = None
    coverage: float = 0.0
    """Share of the query's search terms (glosses included) the chunk contains, IDF-weighted."""
    own_coverage: float = 0.0
    """The same for the words the customer wrote, without glosses or synonyms."""
    title_coverage: float = 0.0
    """Share of the customer's own words found in the entry's question or heading."""


@dataclass(frozen=True)
class SearchTimings:
    embed_ms: float
    dense_ms: float
    bm25_ms: float
    total_ms: float


def search_text(title: str | None, section: str | None, text: str) -> str:
    """What is embedded and indexed for a chunk: its heading context, then its text."""
    return "\n".join(part for part in (section, title, text) if part)


def matches(metadata: Metadata, where: Where | None) -> bool:
    """Chroma's ``where`` semantics for the operators Rafiq uses: equality, $eq, $ne, $in, $and."""
    if not where:
        return True
    for key, condition in where.items():
        if key == "$and":
            if not all(matches(metadata, sub) for sub in condition):
                return False
            continue
        value = metadata.get(key)
        if isinstance(condition, dict):
            for op, operand in condition.items():
                if not _compare(op, value, operand):
                    return False
        elif value != condition:
            return False
    return True


def _opt(metadata: Metadata, key: str) -> str | None:
    value = metadata.get(key)
    return str(value) if value not in (None, "") else None


def indexed_text(chunk: StoredChunk) -> str:
    return search_text(_opt(chunk.metadata, "title"), _opt(chunk.metadata, "section"), chunk.text)


def _compare(op: str, value: object, operand: Any) -> bool:
    if op == "$eq":
        return bool(value == operand)
    if op == "$ne":
        return bool(value != operand)
    if op == "$in":
        return value in operand
    if op == "$nin":
        return value not in operand
    raise ValueError(f"unsupported metadata filter operator {op}")


class _LexicalIndex:
    """BM25 over the tenant's chunks, and the chunk each alias record stands for."""

    def __init__(self, records: list[StoredChunk]) -> None:
        self.chunks = [r for r in records if not r.alias_of]
        self.by_id = {c.chunk_id: c for c in self.chunks}
        documents = [terms(indexed_text(c)) for c in self.chunks]
        self.bm25 = BM25Index(documents)
        self.term_sets = {
            c.chunk_id: frozenset(d) for c, d in zip(self.chunks, documents, strict=True)
        }
        self.title_terms = {
            c.chunk_id: frozenset(terms(_opt(c.metadata, "title") or "")) for c in self.chunks
        }
        # The alias record that is a FAQ entry's question alone: how close a message is to
        # the question asked, not to some sentence of the answer.
        self.question_records = {
            r.chunk_id: parent.chunk_id
            for r in records
            if r.alias_of
            and (parent := self.by_id.get(r.alias_of)) is not None
            and parent.metadata.get("is_faq")
            and r.text == parent.metadata.get("title")
        }
        self._sounds: dict[str, Counter[str]] = defaultdict(Counter)
        self._sounds_truncated: dict[str, Counter[str]] = defaultdict(Counter)
        for chunk in self.chunks:
            for word in words(normalize_for_search(indexed_text(chunk))):
                if len(word) >= 4 and word not in STOPWORDS:
                    key = skeleton(word)
                    if len(key) >= 3:
                        self._sounds[key][word] += 1
                        self._sounds_truncated[key[:-1]][word] += 1

    def known_words(self, query: str) -> list[str]:
        """The knowledge base's own words for query words it does not contain.

        A French loanword in Arabic script, a Darija word in Arabizi or a French word with
        a glued article ("lprelevement") is matched to a KB word by consonant skeleton.
        """
        found: list[str] = []
        for word in words(normalize_for_search(query)):
            if word in STOPWORDS or len(word) < 3 or stem(word) in self.bm25:
                continue
            for key in skeleton_variants(word):
                candidates = (
                    self._sounds.get(key)
                    or self._sounds_truncated.get(key)
                    or (self._sounds.get(key[:-1]) if len(key) >= 5 else None)
                )
                if candidates:
                    found.extend(w for w, _ in candidates.most_common(2) if w not in found)
                    break
        return found

    def resolve(self, record_id: str) -> StoredChunk | None:
        """The chunk a record stands for: itself, or the parent of an alias (``id~n``)."""
        return self.by_id.get(record_id.split(ALIAS_SEPARATOR, 1)[0])


@dataclass(frozen=True)
class QueryPlan:
    """How one query is searched: the texts embedded and the BM25 terms."""

    variants: list[str]
    """The query as written, then its French and MSA re-phrasings when it has any."""
    terms: list[str]
    own_terms: list[str]
    """The terms of the words the customer wrote, before glosses and synonyms."""


def _combine(language: str | None, where: Where | None) -> Where | None:
    conditions = [c for c in ({"language": language} if language else None, where) if c]
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


class HybridRetriever:
    """Safe to share between threads: searches keep no per-query state on the instance."""

    def __init__(
        self, store: TenantStore, candidates: int = 30, fusion: FusionWeights | None = None
    ) -> None:
        self.store = store
        self.fusion = fusion or FusionWeights()
        self._candidates = candidates
        self._index: _LexicalIndex | None = None
        self._index_version: str | None = None
        self._lock = threading.Lock()

    def _lexical_index(self) -> _LexicalIndex:
        version = self.store.version()
        with self._lock:
            if self._index is None or version != self._index_version:
                self._index = _LexicalIndex(self.store.all_chunks())
                self._index_version = version
            return self._index

    def faq_questions(self) -> list[str]:
        """The questions of the tenant's FAQ entries: what ordinary requests look like."""
        index = self._lexical_index()
        return sorted(
            {
                str(c.metadata["title"])
                for c in index.chunks
                if c.metadata.get("is_faq") and c.metadata.get("title")
            }
        )

    def entry(self, chunk_id: str) -> RetrievedChunk | None:
        """One chunk by id, as a search would return it (a customer picking a suggestion)."""
        index = self._lexical_index()
        chunk = index.by_id.get(chunk_id)
        if chunk is None:
            return None
        plan = QueryPlan([], [], [])
        return self._result(index, plan, chunk, 0.0, _Evidence())

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        language: str | None = None,
        where: Where | None = None,
    ) -> list[RetrievedChunk]:
        return self.search_with_timings(query, k, language=language, where=where)[0]

    def search_with_timings(
        self,
        query: str,
        k: int = 5,
        *,
        language: str | None = None,
        where: Where | None = None,
    ) -> tuple[list[RetrievedChunk], SearchTimings]:
        started = time.perf_counter()
        index = self._lexical_index()
        plan = self._plan(query, index)
        combined = _combine(language, where)
        vectors = self.store.embedder.embed_queries(plan.variants)
        embedded = time.perf_counter()
        dense_lists = self.store.nearest(vectors, self._candidates, combined)
        dense_done = time.perf_counter()
        allowed = (
            np.fromiter((matches(c.metadata, combined) for c in index.chunks), dtype=bool)
            if combined
            else None
        )
        lexical = index.bm25.top(plan.terms, self._candidates, allowed)
        lexical_done = time.perf_counter()
        results = self._fuse(index, plan, dense_lists, lexical, k)
        timings = SearchTimings(
            embed_ms=(embedded - started) * 1000,
            dense_ms=(dense_done - embedded) * 1000,
            bm25_ms=(lexical_done - dense_done) * 1000,
            total_ms=(time.perf_counter() - started) * 1000,
        )
        return results, timings

    @staticmethod
    def _plan(query: str, index: _LexicalIndex) -> QueryPlan:
        analysis = analyze_query(query)
        resolved = index.known_words(query)
        french_gloss = " ".join(
            filter(None, [analysis.french_gloss or (query if resolved else None), *resolved])
        )
        own = terms(query)
        extra = terms(" ".join(resolved)) + with_synonyms(own)[len(own) :]
        return QueryPlan(
            variants=[query] + [g for g in (french_gloss, analysis.arabic_gloss) if g],
            terms=list(dict.fromkeys(analysis.terms + extra)),
            own_terms=list(dict.fromkeys(own)),
        )

    def _fuse(
        self,
        index: _LexicalIndex,
        plan: QueryPlan,
        dense_lists: list[list[tuple[str, float]]],
        lexical: list[tuple[int, float]],
        k: int,
    ) -> list[RetrievedChunk]:
        """Reciprocal-rank fusion of the dense rankings (one per variant) and BM25."""
        fusion = self.fusion
        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        # Once per query, not once per candidate and coverage.
        evidence = _Evidence(idf={t: index.bm25.idf(t) for t in [*plan.terms, *plan.own_terms]})
        for position, ranking in enumerate(dense_lists):
            weight = fusion.dense if position == 0 else fusion.gloss
            seen: set[str] = set()
            for record_id, cosine in ranking:
                chunk = index.resolve(record_id)
                if chunk is None:
                    continue  # written by another process after our index was built
                cid = chunk.chunk_id
                evidence.similarity[cid] = max(evidence.similarity.get(cid, -1.0), cosine)
                if record_id in index.question_records:
                    evidence.question[cid] = max(evidence.question.get(cid, -1.0), cosine)
                if cid in seen:
                    continue  # a chunk and its alias vectors count once per ranking
                if position == 0:
                    evidence.dense_rank[cid] = len(seen)
                fused[cid] = fused.get(cid, 0.0) + weight / (fusion.k + len(seen) + 1)
                seen.add(cid)
                chunks[cid] = chunk
            if ranking:
                evidence.floor = min(evidence.floor, ranking[-1][1])
        for rank, (position, score) in enumerate(lexical):
            chunk = index.chunks[position]
            cid = chunk.chunk_id
            fused[cid] = fused.get(cid, 0.0) + fusion.bm25 / (fusion.k + rank + 1)
            chunks.setdefault(cid, chunk)
            evidence.bm25[cid] = score
            evidence.lexical_rank[cid] = rank
        best = sorted(fused, key=lambda cid: fused[cid], reverse=True)[:k]
        return [self._result(index, plan, chunks[cid], fused[cid], evidence) for cid in best]

    @staticmethod
    def _result(
        index: _LexicalIndex,
        plan: QueryPlan,
        chunk: StoredChunk,
        score: float,
        evidence: _Evidence,
    ) -> RetrievedChunk:
        meta = chunk.metadata
        page = meta.get("page")
        cid = chunk.chunk_id
        similarity = evidence.similarity.get(cid, 0.0)
        if cid in evidence.question:
            question = evidence.question[cid]
        elif meta.get("is_faq"):
            # Its question was not among the nearest records: at most the last one's cosine.
            question = min(evidence.floor, similarity)
        else:
            question = similarity
        return RetrievedChunk(
            chunk_id=cid,
            text=chunk.text,
            source=str(meta.get("source", "")),
            title=_opt(meta, "title"),
            section=_opt(meta, "section"),
            page=int(page) if isinstance(page, int) and page > 0 else None,
            language=str(meta.get("language", "")),
            score=score,
            dense_similarity=similarity,
            bm25_score=evidence.bm25.get(cid, 0.0),
            metadata=meta,
            question_similarity=question,
            dense_rank=evidence.dense_rank.get(cid),
            lexical_rank=evidence.lexical_rank.get(cid),
            coverage=evidence.covered(plan.terms, index.term_sets[cid]),
            own_coverage=evidence.covered(plan.own_terms, index.term_sets[cid]),
            title_coverage=evidence.covered(plan.own_terms, index.title_terms[cid]),
        )


@dataclass
class _Evidence:
    """What the rankings say about each candidate chunk, gathered while fusing."""

    similarity: dict[str, float] = field(default_factory=dict)
    question: dict[str, float] = field(default_factory=dict)
    bm25: dict[str, float] = field(default_factory=dict)
    dense_rank: dict[str, int] = field(default_factory=dict)
    lexical_rank: dict[str, int] = field(default_factory=dict)
    floor: float = 1.0
    idf: dict[str, float] = field(default_factory=dict)
    """The query's terms with their inverse document frequency."""

    def covered(self, wanted: list[str], present: frozenset[str]) -> float:
        """IDF-weighted share of ``wanted`` terms in ``present``: rare words count most,
        and a word the knowledge base never uses counts as much as the rarest it does."""
        total = sum(self.idf[t] for t in wanted)
        return sum(self.idf[t] for t in wanted if t in present) / total if total else 0.0
