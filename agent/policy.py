"""Escalation policies: the default every tenant starts with, and a tenant's overrides.

The YAML schema is described in ``agent/policies/README.md``. A tenant file merges into
the default category by category: keywords and examples are added, priority and label
replaced, new categories appended; a category can be switched off with
``enabled: false`` unless it is a hard rule (the safety floor cannot be lowered).
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import yaml

from agent.result import PRIORITIES, Priority

LANGUAGES = ("fr", "ar", "darija", "arabizi", "en")


class PolicyError(ValueError):
    """An escalation policy file that cannot be used; the message names file and field."""


@dataclass(frozen=True)
class CategoryPolicy:
    name: str
    priority: Priority
    hard_rule: bool = False
    enabled: bool = True
    label: dict[str, str] = field(default_factory=dict)
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def all_keywords(self) -> list[str]:
        return [k for words in self.keywords.values() for k in words]

    def all_examples(self) -> list[str]:
        return [e for texts in self.examples.values() for e in texts]


@dataclass(frozen=True)
class BusinessRule:
    name: str
    category: str
    priority: Priority
    amount_at_least_dh: float | None = None
    unsupported: tuple[str, ...] = ()
    """Conditions this engine cannot evaluate yet (e.g. contact counts): such a rule never
    fires, rather than firing unconditionally."""


@dataclass(frozen=True)
class EscalationPolicy:
    categories: dict[str, CategoryPolicy]
    rules: tuple[BusinessRule, ...] = ()
    ordinary_examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Ordinary requests in every language: negatives for similarity triage."""

    def all_ordinary_examples(self) -> list[str]:
        return [e for texts in self.ordinary_examples.values() for e in texts]

    def enabled(self) -> list[CategoryPolicy]:
        return [c for c in self.categories.values() if c.enabled]


def _texts(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: expected a mapping of language -> list of texts")
    result: dict[str, tuple[str, ...]] = {}
    for language, texts in raw.items():
        if texts is None:
            continue
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise PolicyError(f"{where}.{language}: expected a list of strings")
        result[str(language)] = tuple(t.strip() for t in texts if t.strip())
    return result


def _priority(value: Any, where: str) -> Priority:
    if value not in PRIORITIES:
        raise PolicyError(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
    return cast(Priority, value)


def _merge(
    base: CategoryPolicy | None, name: str, raw: dict[str, Any], where: str
) -> CategoryPolicy:
    keywords = _texts(raw.get("keywords"), f"{where}.keywords")
    examples = _texts(raw.get("examples"), f"{where}.examples")
    if base is None:
        if "priority" not in raw:
            raise PolicyError(f"{where}: a new category needs a priority")
        return CategoryPolicy(
            name=name,
            priority=_priority(raw["priority"], f"{where}.priority"),
            hard_rule=bool(raw.get("hard_rule", False)),
            enabled=bool(raw.get("enabled", True)),
            label=dict(raw.get("label") or {}),
            keywords=keywords,
            examples=examples,
        )
    enabled = bool(raw.get("enabled", base.enabled))
    if base.hard_rule and not enabled:
        raise PolicyError(f"{where}: {name} is a hard rule and cannot be disabled")
    priority = base.priority
    if "priority" in raw:
        priority = _priority(raw["priority"], f"{where}.priority")
    if base.hard_rule and PRIORITIES.index(priority) < PRIORITIES.index(base.priority):
        raise PolicyError(f"{where}: {name} is a hard rule; its priority can only be raised")
    return replace(
        base,
        priority=priority,
        enabled=enabled,
        label={**base.label, **(raw.get("label") or {})},
        keywords={
            lang: base.keywords.get(lang, ()) + keywords.get(lang, ())
            for lang in {*base.keywords, *keywords}
        },
        examples={
            lang: base.examples.get(lang, ()) + examples.get(lang, ())
            for lang in {*base.examples, *examples}
        },
    )


def _rules(raw: Any, where: str) -> list[BusinessRule]:
    rules = []
    for number, rule in enumerate(raw or [], 1):
        at = f"{where}.rules[{number}]"
        when, then = rule.get("when") or {}, rule.get("then") or {}
        if "category" not in when or "priority" not in then:
            raise PolicyError(f"{at}: needs when.category and then.priority")
        amount = when.get("amount_at_least_dh")
        rules.append(
            BusinessRule(
                name=str(rule.get("name", f"rule {number}")),
                category=str(when["category"]),
                priority=_priority(then["priority"], f"{at}.then.priority"),
                amount_at_least_dh=float(amount) if amount is not None else None,
                unsupported=tuple(sorted(set(when) - _SUPPORTED_CONDITIONS)),
            )
        )
    return rules


_SUPPORTED_CONDITIONS = {"category", "amount_at_least_dh"}


def parse_policy(text: str, where: str, base: EscalationPolicy | None = None) -> EscalationPolicy:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{where}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: expected a mapping at the top level")
    categories = dict(base.categories) if base else {}
    for name, raw in (data.get("categories") or {}).items():
        if not isinstance(raw, dict):
            raise PolicyError(f"{where}.categories.{name}: expected a mapping")
        categories[name] = _merge(categories.get(name), name, raw, f"{where}.categories.{name}")
    # A tenant rule replaces the default rule of the same name.
    rules = {r.name: r for r in (base.rules if base else ())}
    rules.update({r.name: r for r in _rules(data.get("rules"), where)})
    ordinary = _texts(data.get("ordinary_examples"), f"{where}.ordinary_examples")
    base_ordinary = base.ordinary_examples if base else {}
    merged = {
        lang: base_ordinary.get(lang, ()) + ordinary.get(lang, ())
        for lang in {*base_ordinary, *ordinary}
    }
    return EscalationPolicy(categories, tuple(rules.values()), merged)


SECTOR_EXAMPLES = "sectors.yaml"
"""Examples of every category from ten sectors (generated, see eval/sector_sets.py)."""


@lru_cache(maxsize=1)
def written_policy() -> EscalationPolicy:
    """``default.yaml`` alone: the keywords, rules and examples written by hand."""
    data = importlib.resources.files("agent") / "policies/default.yaml"
    return parse_policy(data.read_text(encoding="utf-8"), "default.yaml")


@lru_cache(maxsize=1)
def default_policy() -> EscalationPolicy:
    """The written policy with the multi-sector examples merged in, so that a client of a
    sector the keywords were not written for finds its customers' wording among them."""
    data = importlib.resources.files("agent") / "policies" / SECTOR_EXAMPLES
    if not data.is_file():
        return written_policy()
    return parse_policy(data.read_text(encoding="utf-8"), SECTOR_EXAMPLES, written_policy())


def load_policy(tenant_file: Path | None) -> EscalationPolicy:
    """The default policy, extended by the tenant's file when it has one."""
    if tenant_file is None or not tenant_file.is_file():
        return default_policy()
    return parse_policy(tenant_file.read_text(encoding="utf-8"), str(tenant_file), default_policy())
