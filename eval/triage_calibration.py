"""Fitting triage's learned layer, and measuring it as a client of a new sector would.

``python -m eval.triage_calibration fit`` fits one logistic regression per category
(agent/triage_model.py) on the *fit* parts of the multi-sector sets
(``samples/sectors/<sector>/fit.jsonl``, each sector with its own small FAQ), the sample
tenants' routing fit sets and the default policy's examples; each sector's FAQ questions
are ordinary requests. Thresholds come from out-of-fold scores, the folds being whole
sectors, so that they are chosen on sectors the scores were not fitted on. It writes
``agent/triage_model.json``.

``python -m eval.triage_calibration report`` measures, for every sector, a model fitted
and thresholded without that sector (leave one sector out) on that sector's *held-out*
part, which nothing is ever fitted or tuned on; then the packaged model on the sample
tenants' routing sets, beside triage without the learned layer.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from agent.logistic import Logistic, Matrix
from agent.policy import (
    LANGUAGES,
    EscalationPolicy,
    default_policy,
    parse_policy,
    written_policy,
)
from agent.triage import Triage, TriageSignals, combine
from agent.triage_model import TriageModel
from eval.calibration import command_line, fit_standardised, threshold_for
from eval.routing import load_cases
from eval.sector_sets import policy_yaml
from knowledge_base.embeddings import Embedder
from knowledge_base.embeddings.factory import create_embedder
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container

MODEL_PATH = Path("agent/triage_model.json")
SECTORS = "sectors"
EMBEDDINGS = "use-multilingual"
SAFETY = ("distress", "fraud", "vulnerability", "human_request")
RECALL = {"safety": 0.95, "other": 0.90}
"""The recall each threshold aims at on out-of-fold positives..."""
MAX_FALSE = {"safety": 0.001, "other": 0.0005}
"""... unless it would escalate more than this share of out-of-fold ordinary requests. The
learned layer adds to keywords and examples, which already escalate some ordinary
requests: measured on the fit parts (one sector left out at a time), looser caps bought
recall with false escalations, these keep them under 0.05."""
L2 = 10.0
FOLDS = 5
TENANT_SECTORS = {"atlastel": "telecom", "yusr": "consumer_credit"}
"""The sample tenants' sectors: left out with the sector they belong to."""
POLICY = "policy"

Split = Literal["fit", "holdout"]


@dataclass(frozen=True)
class Labelled:
    text: str
    language: str
    group: str
    """The sector (a sample tenant counts as its sector), or ``policy``."""
    split: Split
    category: str | None
    source: Literal["sector", "routing", "faq", "policy"]
    signals: TriageSignals

    @property
    def features(self) -> Matrix:
        assert self.signals.features is not None
        return self.signals.features

    @property
    def measured(self) -> bool:
        """Messages customers wrote; FAQ questions and policy examples only teach."""
        return self.source in ("sector", "routing")


def faq_questions(path: Path) -> list[str]:
    """The ``## question`` headings of a sector's FAQ, as ingestion would title them."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [line[3:].strip() for line in lines if line.startswith("## ")]


def sector_dirs(samples: Path) -> list[Path]:
    root = samples / SECTORS
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _rows(
    triage: Triage,
    texts: Iterable[tuple[str, str, str | None]],
    group: str,
    split: Split,
    source: Literal["sector", "routing", "faq", "policy"],
) -> list[Labelled]:
    return [
        Labelled(
            text, language, group, split, category, source, triage.signals(text, complete=True)
        )
        for text, language, category in texts
    ]


def _sector_rows(folder: Path, embedder: Embedder) -> list[Labelled]:
    # The sector's own examples are not in the policy it is measured with: for it, the
    # multi-sector examples are those of the nine other sectors, as for a new client.
    others = policy_yaml(folder.parent, leave_out=folder.name)
    policy = parse_policy(others, f"sectors.yaml without {folder.name}", written_policy())
    questions = faq_questions(folder / "faq.md")
    triage = Triage(policy, embedder, questions, learned=False)
    rows = _rows(triage, [(q, "fr", None) for q in questions], folder.name, "fit", "faq")
    splits: tuple[Split, ...] = ("fit", "holdout")
    for split in splits:
        path = folder / f"{split}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        cases = [json.loads(line) for line in lines if line.strip()]
        texts = [(c["message"], c["language"], c.get("expected_category")) for c in cases]
        rows += _rows(triage, texts, folder.name, split, "sector")
    return rows


def _tenant_rows(samples: Path, embedder: Embedder, data_dir: Path) -> list[Labelled]:
    container = Container(Settings(data_dir=data_dir, samples_dir=samples))
    rows: list[Labelled] = []
    for folder in sample_tenant_dirs(samples):
        tenant = load_sample_tenant(container, folder).name
        questions = container.retriever(tenant).faq_questions()
        triage = Triage(default_policy(), embedder, questions, learned=False)
        group = TENANT_SECTORS.get(tenant, tenant)
        files: tuple[tuple[Split, str], ...] = (
            ("fit", "routing_eval.jsonl"),
            ("holdout", "routing_holdout.jsonl"),
        )
        for split, name in files:
            path = folder / name
            if not path.is_file():
                continue
            # Messages to refuse (insults, injections) are screening's, not triage's.
            texts = [
                (
                    c.message,
                    c.language,
                    c.expected_category if c.expected_action == "escalate" else None,
                )
                for c in load_cases(path)
                if c.expected_action != "refuse"
            ]
            rows += _rows(triage, texts, group, split, "routing")
    return rows


def _policy_rows(embedder: Embedder, samples: Path) -> list[Labelled]:
    """The hand-written examples (the sector examples are the sector sets' own rows) and
    ordinary requests; the latter are compared with the sectors' ordinary requests, not
    with themselves."""
    written = written_policy()
    ordinary = yaml.safe_load(policy_yaml(samples / SECTORS))["ordinary_examples"]
    policy = EscalationPolicy(
        written.categories, written.rules, {k: tuple(v) for k, v in ordinary.items()}
    )
    triage = Triage(policy, embedder, [], learned=False)
    texts: list[tuple[str, str, str | None]] = [
        (example, language, category.name)
        for category in written.enabled()
        for language, examples in category.examples.items()
        for example in examples
    ]
    texts += [
        (example, language, None)
        for language, examples in written.ordinary_examples.items()
        for example in examples
    ]
    return _rows(triage, texts, POLICY, "fit", "policy")


def load(samples: Path, embedder: Embedder, data_dir: Path) -> list[Labelled]:
    rows = _policy_rows(embedder, samples)
    for folder in sector_dirs(samples):
        rows += _sector_rows(folder, embedder)
    return rows + _tenant_rows(samples, embedder, data_dir)


def categories() -> list[str]:
    return [c.name for c in default_policy().enabled() if c.all_examples()]


def _fit_scores(train: list[Labelled], l2: float) -> dict[str, Logistic]:
    x = np.vstack([r.features for r in train])
    return {
        name: fit_standardised(x, np.asarray([r.category == name for r in train], float), l2)
        for name in categories()
    }


def _kind(category: str) -> str:
    return "safety" if category in SAFETY else "other"


Scored = list[tuple[Labelled, dict[str, float]]]


def out_of_fold(train: list[Labelled], l2: float, folds: int) -> Scored:
    """Scores of the customer messages, each by a model fitted without its sector."""
    groups = sorted({r.group for r in train if r.group != POLICY})
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    scored: Scored = []
    for fold in range(folds):
        inside = [r for r in train if fold_of.get(r.group) != fold]
        outside = [r for r in train if fold_of.get(r.group) == fold and r.measured]
        if not outside:
            continue
        models = _fit_scores(inside, l2)
        x = np.vstack([r.features for r in outside])
        probabilities = {name: m.probabilities(x) for name, m in models.items()}
        scored += [
            (r, {name: float(p[i]) for name, p in probabilities.items()})
            for i, r in enumerate(outside)
        ]
    return scored


def choose_thresholds(
    scored: Scored,
    recall: dict[str, float] = RECALL,
    max_false: dict[str, float] = MAX_FALSE,
) -> dict[str, float]:
    """Per category: the recall target on its out-of-fold positives, or stricter where that
    would escalate more than the allowed share of out-of-fold ordinary requests."""
    thresholds = {}
    for name in categories():
        positives = [s[name] for r, s in scored if r.category == name]
        ordinary = [s[name] for r, s in scored if r.category is None]
        kind = _kind(name)
        for_recall = float(np.quantile(positives, 1 - recall[kind])) if positives else 1.0
        thresholds[name] = max(for_recall, threshold_for(ordinary, max_false[kind]), 0.5)
    return thresholds


def fit(rows: list[Labelled], embedder: str, l2: float = L2, folds: int = FOLDS) -> TriageModel:
    train = [r for r in rows if r.split == "fit"]
    thresholds = choose_thresholds(out_of_fold(train, l2, folds))
    return TriageModel(embedder, _fit_scores(train, l2), thresholds)


def decide(row: Labelled, model: TriageModel | None) -> str | None:
    signals = row.signals
    if model is not None and signals.features is not None:
        signals = TriageSignals(
            signals.keyword, signals.similar, model.scores(signals.features), signals.features
        )
    found = combine(signals, model)
    return found[0] if found else None


@dataclass(frozen=True)
class Figures:
    group: str
    escalations: int
    recall: float
    safety_recall: float
    right_queue: float
    """Among the escalations that should be: escalated to the expected queue."""
    ordinary: int
    false_escalation: float


def figures(group: str, decided: list[tuple[Labelled, str | None]]) -> Figures:
    sensitive = [(r, d) for r, d in decided if r.category is not None]
    safety = [(r, d) for r, d in sensitive if r.category in SAFETY]
    escalated = [(r, d) for r, d in sensitive if d is not None]
    ordinary = [d for r, d in decided if r.category is None]

    def share(values: list[bool]) -> float:
        return float(np.mean(values)) if values else float("nan")

    return Figures(
        group,
        len(sensitive),
        share([d is not None for _, d in sensitive]),
        share([d is not None for _, d in safety]),
        share([d == r.category for r, d in escalated]),
        len(ordinary),
        share([d is not None for d in ordinary]),
    )


def table(
    decided: list[tuple[Labelled, str | None]], key: Callable[[Labelled], str]
) -> list[Figures]:
    groups: dict[str, list[tuple[Labelled, str | None]]] = defaultdict(list)
    for row, decision in decided:
        groups[key(row)].append((row, decision))
    ordered = [g for g in LANGUAGES if g in groups] + sorted(set(groups) - set(LANGUAGES))
    return [figures(g, groups[g]) for g in ordered] + [figures("overall", decided)]


def format_table(title: str, rows: list[Figures]) -> str:
    header = ("", "escal.", "recall", "safety", "queue", "ordinary", "false esc.")
    lines = [title, f"{header[0]:<18}" + "".join(f"{h:>11}" for h in header[1:])]
    for f in rows:
        lines.append(
            f"{f.group:<18}{f.escalations:>11}{f.recall:>11.3f}{f.safety_recall:>11.3f}"
            f"{f.right_queue:>11.3f}{f.ordinary:>11}{f.false_escalation:>11.3f}"
        )
    return "\n".join(lines)


def leave_one_sector_out(rows: list[Labelled], embedder: str) -> list[tuple[Labelled, str | None]]:
    """Each sector's held-out messages, decided by a model that never saw the sector."""
    decided: list[tuple[Labelled, str | None]] = []
    sectors = sorted({r.group for r in rows if r.source == "sector"})
    for sector in sectors:
        model = fit([r for r in rows if r.group != sector], embedder)
        decided += [
            (r, decide(r, model))
            for r in rows
            if r.group == sector and r.split == "holdout" and r.measured
        ]
    return decided


def report(rows: list[Labelled], model: TriageModel, embedder: str) -> str:
    parts = []
    held_out = [r for r in rows if r.source == "sector" and r.split == "holdout"]
    today = [(r, decide(r, None)) for r in held_out]
    loso = [d for d in leave_one_sector_out(rows, embedder) if d[0].source == "sector"]
    for title, key in (("sector", _group), ("language", _language)):
        parts.append(
            format_table(
                f"\nheld-out parts, one sector left out of the fitting · per {title}",
                table(loso, key),
            )
        )
        parts.append(
            format_table(
                f"\nheld-out parts, keywords and examples only (before) · per {title}",
                table(today, key),
            )
        )
    for split in ("fit", "holdout"):
        routing = [r for r in rows if r.source == "routing" and r.split == split]
        for name, chosen in (("keywords and examples", None), ("with the learned layer", model)):
            decided = [(r, decide(r, chosen)) for r in routing]
            parts.append(
                format_table(
                    f"\nsample tenants' routing sets ({split}) · {name}", table(decided, _group)
                )
            )
    return "\n".join(parts)


def _group(row: Labelled) -> str:
    return row.group


def _language(row: Labelled) -> str:
    return row.language


def main(argv: list[str] | None = None) -> int:
    import tempfile

    args = command_line(__doc__, MODEL_PATH, argv)
    embedder = create_embedder(EMBEDDINGS)
    with tempfile.TemporaryDirectory() as data_dir:
        rows = load(args.samples, embedder, Path(data_dir))
    if args.command == "fit":
        model = fit(rows, embedder.name)
        args.model.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
        print(f"wrote {args.model}: thresholds {model.thresholds}")
    else:
        model = TriageModel.from_json(json.loads(args.model.read_text(encoding="utf-8")))
    print(report(rows, model, embedder.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
