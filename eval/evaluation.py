"""An evaluation run from start to finish: suites in, a stored run with its figures out.

The same steps serve ``rafiq eval run`` and ``POST /v1/eval/runs``: load and check the
suites against the tenant, record the run, send every case to the tenant's agent, score
the answers (ragas), compute the figures and store the result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eval.metrics import compute, flat
from eval.ragas_metrics import Judge, score_cases
from eval.runner import DEFAULT_WORKERS, Progress, Target, check_tenant, run_suites
from eval.store import RunRecord, RunStore, new_record, now
from eval.suite import VERSION_LENGTH, Suite, SuiteError, load_suite, parse_suite, suite_files
from knowledge_base.embeddings.base import Embedder


def kb_fingerprint(target: Target) -> str:
    """The same documents give the same fingerprint in any data directory (the store's
    own version changes with every write, and differs between two fresh ingests)."""
    hashes = sorted(target.retriever.store.document_hashes().items())
    encoded = json.dumps(hashes, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:VERSION_LENGTH]


def _distinct(suites: list[Suite], problems: list[str]) -> list[Suite]:
    names = [s.name for s in suites]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice or problems:
        raise SuiteError(problems + [f"suite {n!r} is given twice in this run" for n in twice])
    return suites


class Evaluator:
    def __init__(
        self,
        store: RunStore,
        target: Callable[[str], Target],
        *,
        settings: dict[str, Any],
        judge: Judge | None = None,
        embedder: Embedder | None = None,
        workers: int = DEFAULT_WORKERS,
        samples_dir: Path | None = None,
    ) -> None:
        self.store = store
        self._target = target
        self._settings = settings
        self._judge = judge
        self._embedder = embedder
        self.workers = workers
        self._samples_dir = samples_dir

    @property
    def judged(self) -> bool:
        return self._judge is not None and self._embedder is not None

    def target(self, tenant: str) -> Target:
        return self._target(tenant)

    def load(self, target: Target, paths: Sequence[Path]) -> list[Suite]:
        """Suite files (or folders of them), validated with the tenant's categories;
        SuiteError lists every problem of every file."""
        suites: list[Suite] = []
        problems: list[str] = []
        for path in paths:
            try:
                files = suite_files(path)
            except SuiteError as error:
                problems.extend(error.problems)
                continue
            for file in files:
                try:
                    suites.append(load_suite(file, target.categories))
                except SuiteError as error:
                    problems.extend(error.problems)
        loaded = _distinct(suites, problems)
        check_tenant(loaded, target.tenant)
        return loaded

    def parse(self, target: Target, documents: Sequence[Any]) -> list[Suite]:
        """Suites sent as data (the HTTP API); problems name ``suite`` or ``suite[i]``."""
        suites: list[Suite] = []
        problems: list[str] = []
        for index, document in enumerate(documents):
            origin = "suite" if len(documents) == 1 else f"suite[{index}]"
            try:
                suites.append(parse_suite(document, origin, target.categories))
            except SuiteError as error:
                problems.extend(error.problems)
        parsed = _distinct(suites, problems)
        check_tenant(parsed, target.tenant)
        return parsed

    def sample(self, name: str) -> Path:
        """A suite file or folder under the samples directory, by its relative path
        (``atlastel/eval``, ``redteam.yaml``): how the HTTP API names the sample suites."""
        if self._samples_dir is None:
            raise SuiteError([f"{name}: this server has no sample suites"])
        root = self._samples_dir.resolve()
        try:
            path = (root / name).resolve()
            found = path.is_relative_to(root) and path.exists()
        except (ValueError, OSError):
            # A name no file system can hold (a NUL byte, a name too long) names no suite.
            found = False
        if not found:
            raise SuiteError([f"{name}: no such sample suite (a path under the samples folder)"])
        return path

    def start(self, target: Target, suites: Sequence[Suite]) -> RunRecord:
        """Records the run as queued; ``execute`` then runs it."""
        settings = {
            **self._settings,
            "kb_fingerprint": kb_fingerprint(target),
            "workers": self.workers,
            "judged": self.judged,
        }
        record = new_record(target.tenant, suites, target.retriever.store.version(), settings)
        self.store.add(record)
        return record

    def execute(
        self,
        record: RunRecord,
        target: Target,
        suites: Sequence[Suite],
        progress: Progress | None = None,
    ) -> RunRecord:
        """Runs, scores and stores; a failure is stored as the run's ``error``."""
        running = record.model_copy(update={"status": "running"})
        self.store.save(running)
        try:
            cases = run_suites(suites, target, workers=self.workers, progress=progress)
            quality = score_cases(cases, self._judge, self._embedder)
            finished = running.model_copy(
                update={
                    "status": "done",
                    "metrics": flat(compute(quality.cases)),
                    "outcomes": quality.cases,
                    "warnings": quality.warnings,
                    "finished_at": now(),
                }
            )
        except Exception as exc:  # stored for whoever polls the run; re-raised by nobody
            finished = running.model_copy(
                update={
                    "status": "error",
                    "error": f"{type(exc).__name__}: {exc}",
                    "finished_at": now(),
                }
            )
        self.store.save(finished)
        return finished
