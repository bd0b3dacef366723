"""Screening of each customer message for prompt injection and abuse, before triage.

A cheap, deterministic first line of defence: it runs before any model sees the message,
so an injection attempt is refused without spending a model call and abuse is routed
without the model having to judge it. It is deliberately precise rather than exhaustive:
a customer wrongly refused is worse than an attempt that reaches the model, which has its
own instructions to refuse. The patterns live in screening_patterns.yaml, one group per
verdict and language (French, MSA, Darija in Arabic script, Arabizi, English, plus
language-independent markup); that file also documents the judgement calls.

The message is expected to be PII-redacted already; nothing here depends on personal data.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

import yaml

from knowledge_base.normalize import normalize_for_search, words

ScreenVerdict = Literal["ok", "injection", "abuse"]

# Injection first: a message that both insults and tries to override the rules is handled
# as the security problem it is.
CHECK_ORDER: tuple[ScreenVerdict, ...] = ("injection", "abuse")
LANGUAGES = ("markup", "fr", "ar", "darija", "arabizi", "en")
PATTERNS_FILE = "screening_patterns.yaml"


@dataclass(frozen=True)
class Screening:
    verdict: ScreenVerdict
    reason: str | None
    """Short English reason for logs and advisers; None when the verdict is "ok"."""


@dataclass(frozen=True)
class ScreenRule:
    verdict: ScreenVerdict
    language: str
    reason: str
    pattern: re.Pattern[str]


OK = Screening("ok", None)

# Zero-width and direction characters hide trigger words from matching without changing
# what a reader (or a model) sees.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Cyrillic and Greek letters that look Latin ("іgnоre"); customers of a Moroccan contact
# centre have no reason to write either script, attackers do.
_CONFUSABLES = str.maketrans("аеорсхуіјѕԁɡοαιν", "aeopcxyijsdgoaiv")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
# Letters stretched for emphasis or to dodge filters ("fuuuuck", "connaaard", "كلشيييي");
# digits are left alone because "1000" is not "10".
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")
# Four or more one-letter words in a row are a word spelled out ("i g n o r e").
_MIN_SPELLED_OUT = 4
_MACRO = re.compile(r"\{\{(\w+)\}\}")


def screen(text: str) -> Screening:
    """Classify one customer message as "ok", "injection" or "abuse"."""
    forms = matching_forms(text)
    if not any(forms):
        return OK
    for rule in load_rules():
        if any(rule.pattern.search(form) for form in forms):
            return Screening(rule.verdict, rule.reason)
    return OK


def matching_forms(text: str) -> tuple[str, str]:
    """The two forms every pattern is searched in: normalised text, and its words only.

    The text form keeps punctuation and line starts for markup ("### system:"); the words
    form lets natural-language patterns ignore punctuation, apostrophes and hyphens, and
    undoes spelled-out words.
    """
    cleaned = normalize_for_search(_INVISIBLE.sub("", text)).translate(_CONFUSABLES)
    cleaned = _STRETCHED.sub(r"\1", cleaned)
    lines = (_HORIZONTAL_SPACE.sub(" ", line).strip() for line in cleaned.splitlines())
    text_form = "\n".join(line for line in lines if line)
    return text_form, " ".join(_join_spelled_out(words(text_form)))


def _join_spelled_out(tokens: list[str]) -> list[str]:
    joined: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= _MIN_SPELLED_OUT:
            joined.append("".join(run))
        else:
            joined.extend(run)
        run = []
        if token:
            joined.append(token)
    return joined


@lru_cache(maxsize=1)
def load_rules() -> tuple[ScreenRule, ...]:
    """Every pattern of the packaged YAML file, compiled, in the order they are checked."""
    source = importlib.resources.files("agent") / PATTERNS_FILE
    return parse_rules(source.read_text(encoding="utf-8"))


def parse_rules(yaml_text: str) -> tuple[ScreenRule, ...]:
    """Compile the patterns of a screening YAML document; ValueError if it is malformed."""
    data = yaml.safe_load(yaml_text)
    if not isinstance(data, dict):
        raise ValueError("screening patterns: expected a mapping at the top level")
    unknown = set(data) - {"macros", *CHECK_ORDER}
    if unknown:
        raise ValueError(f"screening patterns: unknown top-level keys {sorted(unknown)}")
    macros = _macros(data.get("macros") or {})
    rules: list[ScreenRule] = []
    for verdict in CHECK_ORDER:
        by_language = data.get(verdict) or {}
        if not isinstance(by_language, dict):
            raise ValueError(f"screening patterns: {verdict} must map languages to groups")
        for language, groups in by_language.items():
            if language not in LANGUAGES:
                raise ValueError(f"screening patterns: unknown language {language!r}")
            for group in _list(groups, f"{verdict}.{language}"):
                rules.extend(_group_rules(verdict, language, group, macros))
    return tuple(rules)


def _group_rules(
    verdict: ScreenVerdict, language: str, group: Any, macros: dict[str, str]
) -> list[ScreenRule]:
    where = f"{verdict}.{language}"
    if not isinstance(group, dict) or set(group) != {"reason", "patterns"}:
        raise ValueError(f"screening patterns: {where}: each group needs reason and patterns")
    reason = group["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"screening patterns: {where}: empty reason")
    rules = []
    for raw in _list(group["patterns"], f"{where} ({reason})"):
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"screening patterns: {where}: empty pattern")
        expanded = expand_macros(raw, macros)
        try:
            compiled = re.compile(expanded, re.MULTILINE)
        except re.error as error:
            raise ValueError(f"screening patterns: {where}: {error}: {raw}") from error
        rules.append(ScreenRule(verdict, language, reason, compiled))
    return rules


def _macros(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ValueError("screening patterns: macros must map names to strings")
    return cast(dict[str, str], raw)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"screening patterns: {where}: expected a non-empty list")
    return value


def expand_macros(pattern: str, macros: dict[str, str]) -> str:
    """Replace each {{name}} by (?:its alternatives), macros inside macros included."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise ValueError(f"screening patterns: unknown macro {{{{{name}}}}}")
        return f"(?:{macros[name]})"

    # Bounded so that a macro referring to itself fails instead of looping.
    for _ in range(8):
        expanded = _MACRO.sub(replace, pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    raise ValueError("screening patterns: macros nested too deeply (a cycle?)")
