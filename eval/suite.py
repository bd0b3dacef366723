"""Evaluation suites: the YAML and JSONL files QA staff write, read into plain typed objects.

A suite names a tenant and holds cases; a case is one or more customer turns, each with
what a correct agent must do: its action, the adviser queue, the reply language, the
sources it must cite, a reference answer and strings that must or must not appear.
eval/SUITES.md documents every field and how each expectation is judged.

A file is validated in full before anything runs, and every problem is reported at once
with the file, the line, the case and the field, so that a QA person fixes a file in one
pass instead of one error per run.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from agent.language import reply_language
from agent.redaction import RedactionKind
from agent.result import CATEGORIES, Action, Citation, DetectedLanguage, ReplyLanguage
from knowledge_base.normalize import normalize_for_search

SUITE_SUFFIXES: Final = (".yaml", ".yml", ".jsonl")
LANGUAGES: Final[tuple[DetectedLanguage, ...]] = get_args(DetectedLanguage)
LANGUAGE_TAG: Final = "language"
VERSION_LENGTH: Final = 12

_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*\Z")
_TAG = re.compile(r"(?P<key>[a-z][a-z0-9_]*):(?P<value>\S+)\Z")


class SuiteError(ValueError):
    """A suite file that cannot be used; ``problems`` holds one line per problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


# --- The plain objects the rest of eval works with ---------------------------------------


@dataclass(frozen=True)
class Expectation:
    """What a correct agent does with one customer turn; an empty field is not judged."""

    actions: frozenset[Action] = frozenset()
    """Allowed actions: any one of them passes."""
    categories: frozenset[str] = frozenset()
    """Allowed escalation categories, judged when the agent escalates."""
    reply_language: ReplyLanguage | None = None
    """None: derived from the turn's language and the tenant (Turn.expected_reply_language)."""
    cite: tuple[str, ...] = ()
    """Accepted sources: at least one citation must match one of them (see ``cites``)."""
    reference: str | None = None
    """A reference answer written from the documentation, for answer-quality metrics."""
    must_contain: tuple[str, ...] = ()
    must_not_contain: tuple[str, ...] = ()
    redactions: frozenset[RedactionKind] = frozenset()
    """Kinds of personal data that must have been removed from the customer's message."""


@dataclass(frozen=True)
class Turn:
    text: str
    language: DetectedLanguage
    """What the customer writes in: the turn's own ``language``, else the case's tag."""
    expect: Expectation

    def expected_reply_language(self, arabizi_reply: ReplyLanguage) -> ReplyLanguage:
        """The written expectation, else the product rule (DESIGN.md §2) for this tenant."""
        return self.expect.reply_language or reply_language(self.language, arabizi_reply)


@dataclass(frozen=True)
class Case:
    id: str
    language: DetectedLanguage
    """From the case's ``language:<code>`` tag: the language of its per-language breakdown."""
    turns: tuple[Turn, ...]
    tags: tuple[str, ...]
    """``key:value`` strings, the language tag included."""
    description: str | None = None

    @property
    def multi_turn(self) -> bool:
        return len(self.turns) > 1

    def tag(self, key: str) -> str | None:
        """The value of the first ``key:value`` tag, or None."""
        return next((v for k, _, v in (t.partition(":") for t in self.tags) if k == key), None)


@dataclass(frozen=True)
class Suite:
    name: str
    tenant: str | None
    """None: the suite suits any tenant, which the runner is then told."""
    version: str
    """Written in the file, else the first 12 hex digits of a hash of the cases."""
    cases: tuple[Case, ...]
    description: str | None = None


# --- How expectations are judged (the runner calls these; SUITES.md describes them) ---------


def normalize_text(text: str) -> str:
    """The form must_contain, must_not_contain and cite compare: case, French accents,
    Arabic spelling variants and digits folded, whitespace runs made one space."""
    return " ".join(normalize_for_search(text).split())


def contains(text: str, needle: str) -> bool:
    return normalize_text(needle) in normalize_text(text)


def cites(citation: Citation, item: str) -> bool:
    """``item`` names a document (``faq_fr.md``), one entry of it (``faq_fr.md#Title``) or
    one chunk (its id); the citation matches when any of its three forms is that name."""
    forms = [citation.source, citation.chunk_id]
    if citation.title:
        forms.append(f"{citation.source}#{citation.title}")
    wanted = normalize_text(item)
    return any(normalize_text(form) == wanted for form in forms)


# --- The file format, as pydantic models at the edge ---------------------------------------


class _Model(BaseModel):
    # Strict: a YAML `no` is a boolean and `0123` an octal number; turning either into
    # text silently would test something the author never wrote.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _listed(value: object) -> object:
    """One value may be written without brackets; an empty key means an empty list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class _Expect(_Model):
    action: list[Action] = []
    category: list[str] = []
    reply_language: ReplyLanguage | None = None
    cite: list[str] = []
    reference: str | None = None
    must_contain: list[str] = []
    must_not_contain: list[str] = []
    redactions: list[RedactionKind] = []

    @field_validator(
        "action",
        "category",
        "cite",
        "must_contain",
        "must_not_contain",
        "redactions",
        mode="before",
    )
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return _listed(value)


class _Turn(_Model):
    text: str
    language: DetectedLanguage | None = None
    expect: _Expect = _Expect()

    @field_validator("expect", mode="before")
    @classmethod
    def _empty_expect(cls, value: object) -> object:
        return {} if value is None else value


class _Case(_Model):
    id: str
    description: str | None = None
    tags: list[str] = []
    turns: list[_Turn] = []

    @field_validator("tags", "turns", mode="before")
    @classmethod
    def _empty_list(cls, value: object) -> object:
        return [] if value is None else value


class _Header(_Model):
    name: str
    tenant: str | None = None
    version: str | None = None
    description: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _numbered(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# Which model a pydantic error location points into, by the last field name before it.
_MODEL_AT: Final[dict[str, type[BaseModel]]] = {"turns": _Turn, "expect": _Expect}


# --- Reading files -------------------------------------------------------------------------


def suite_files(path: Path) -> list[Path]:
    """``path`` itself when it is a suite file, or the suite files directly in a folder."""
    if path.is_file():
        if path.suffix.lower() not in SUITE_SUFFIXES:
            raise SuiteError([f"{path}: not a suite file (expected {', '.join(SUITE_SUFFIXES)})"])
        return [path]
    if path.is_dir():
        found = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUITE_SUFFIXES
        )
        if not found:
            raise SuiteError([f"{path}: no suite files ({', '.join(SUITE_SUFFIXES)}) in folder"])
        return found
    raise SuiteError([f"{path}: no such file or folder"])


def load_suite(path: Path, categories: Iterable[str] = CATEGORIES) -> Suite:
    """Read and validate a .yaml/.yml or .jsonl suite; SuiteError lists every problem.

    ``categories`` are the escalation categories a case may expect: the contract's, plus
    those the tenant's own policy adds.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SuiteError([f"{path}: cannot read the file ({reason or error})"]) from error
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        document, header_line, case_lines = _parse_yaml(path, text)
    elif suffix == ".jsonl":
        document, header_line, case_lines = _parse_jsonl(path, text)
    else:
        raise SuiteError([f"{path}: not a suite file (expected {', '.join(SUITE_SUFFIXES)})"])
    return _Builder(path, frozenset(categories)).suite(document, header_line, case_lines)


def parse_suite(document: Any, origin: str, categories: Iterable[str] = CATEGORIES) -> Suite:
    """A suite given as data (the JSON body of an API request) rather than as a file,
    validated the same way; problems read ``origin: case "id" turn N: field: message``."""
    return _Builder(Path(origin), frozenset(categories)).suite(document, None, [])


def suite_document(suite: Suite) -> dict[str, Any]:
    """The suite as the data ``parse_suite`` reads back into an equal suite, with its
    version written out (so that it stays the same wherever the suite is parsed)."""

    def expect(e: Expectation) -> dict[str, Any]:
        written: dict[str, Any] = {
            "action": sorted(e.actions),
            "category": sorted(e.categories),
            "reply_language": e.reply_language,
            "cite": list(e.cite),
            "reference": e.reference,
            "must_contain": list(e.must_contain),
            "must_not_contain": list(e.must_not_contain),
            "redactions": sorted(e.redactions),
        }
        return {key: value for key, value in written.items() if value}

    header = {"name": suite.name, "tenant": suite.tenant, "version": suite.version}
    return {
        **{key: value for key, value in header.items() if value is not None},
        **({"description": suite.description} if suite.description else {}),
        "cases": [
            {
                "id": case.id,
                **({"description": case.description} if case.description else {}),
                "tags": list(case.tags),
                "turns": [
                    {"text": t.text, "language": t.language, "expect": expect(t.expect)}
                    for t in case.turns
                ],
            }
            for case in suite.cases
        ],
    }


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key written twice in one mapping (PyYAML keeps the last)."""


def _unique_keys_mapping(loader: _YamlLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} written twice in the same mapping",
                    key_node.start_mark,
                )
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys_mapping)


def _parse_yaml(path: Path, text: str) -> tuple[Any, int | None, list[int]]:
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        column = f" (column {mark.column + 1})" if mark else ""
        raise SuiteError([f"{where}: invalid YAML{column}: {error.problem}"]) from error
    except yaml.YAMLError as error:
        raise SuiteError([f"{path}: invalid YAML: {error}"]) from error
    finally:
        loader.dispose()
    return document, None, _case_lines(node)


def _case_lines(node: yaml.Node | None) -> list[int]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "cases" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def _unique_keys_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ValueError(f"key {twice[0]!r} written twice in the same object")
    return dict(pairs)


def _parse_jsonl(path: Path, text: str) -> tuple[Any, int | None, list[int]]:
    """First non-blank line ``{"suite": {name, tenant, ...}}``, then one case per line."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise SuiteError([f"{path}: empty file (the first line must be the suite header)"])
    objects: list[tuple[int, Any]] = []
    problems = []
    for number, line in lines:
        try:
            objects.append((number, json.loads(line, object_pairs_hook=_unique_keys_object)))
        except json.JSONDecodeError as error:
            problems.append(f"{path}:{number}: invalid JSON (column {error.colno}): {error.msg}")
        except ValueError as error:
            problems.append(f"{path}:{number}: invalid JSON: {error}")
    if problems:
        raise SuiteError(problems)
    header_line, header = objects[0]
    if not (isinstance(header, dict) and list(header) == ["suite"]):
        raise SuiteError(
            [
                f"{path}:{header_line}: the first line must be the suite header, "
                '{"suite": {"name": ..., "tenant": ...}}'
            ]
        )
    document = header["suite"]
    if isinstance(document, dict):
        if "cases" in document:
            raise SuiteError(
                [f"{path}:{header_line}: suite.cases: in JSONL each case is a line of its own"]
            )
        document = {**document, "cases": [case for _, case in objects[1:]]}
    return document, header_line, [number for number, _ in objects[1:]]


# --- Validation ----------------------------------------------------------------------------


def _suggestion(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _pydantic_problem(error: Any, root: type[BaseModel]) -> tuple[int | None, str, str]:
    """(turn number, field path, message) in the words of the file: ``expect.cite[1]``."""
    loc = list(error["loc"])
    turn = None
    if len(loc) >= 2 and loc[0] == "turns" and isinstance(loc[1], int):
        turn = loc[1] + 1
        loc = loc[2:]
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        key = str(loc.pop())
        parents = [part for part in loc if isinstance(part, str)]
        model = _MODEL_AT.get(parents[-1], root) if parents else _Turn if turn else root
        message = f"unknown key {key!r}{_suggestion(key, model.model_fields)}"
    elif kind == "missing":
        message = "required"
    elif kind == "literal_error":
        message = f"{value!r} is not allowed here (one of {error['ctx']['expected']})"
    elif kind == "string_type":
        message = f"expected text, got {value!r} (write it in quotes)"
    elif kind in ("list_type", "dict_type", "model_type"):
        noun = "a list" if kind == "list_type" else "a mapping of keys"
        message = f"expected {noun}, got {value!r}"
    else:
        message = str(error["msg"])
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else f".{part}" if field else str(part)
    return turn, field, message


class _CaseReport:
    """Problems of one case, each placed as ``file:line: case "id" turn 2: field: message``."""

    def __init__(self, builder: _Builder, line: int | None, label: str) -> None:
        self.builder = builder
        self.line = line
        self.label = label
        self.count = 0

    def __call__(self, field: str, message: str, turn: int | None = None) -> None:
        scope = f"{self.label} turn {turn}" if turn else self.label
        self.builder.report(self.line, scope, field, message)
        self.count += 1


class _Builder:
    def __init__(self, path: Path, categories: frozenset[str]) -> None:
        self.path = path
        self.categories = categories
        self.problems: list[str] = []

    def report(self, line: int | None, scope: str, field: str, message: str) -> None:
        place = f"{self.path}:{line}" if line else str(self.path)
        self.problems.append(": ".join(part for part in (place, scope, field, message) if part))

    def suite(self, document: Any, header_line: int | None, case_lines: list[int]) -> Suite:
        if not isinstance(document, dict):
            raise SuiteError(
                [f"{self.path}: a suite is a mapping with name, tenant and cases, got {document!r}"]
            )
        fields = dict(document)
        raw_cases = fields.pop("cases", None)
        header = self._header(fields, header_line)
        cases = self._cases(raw_cases, case_lines)
        if self.problems or header is None:
            raise SuiteError(self.problems)
        version = header.version or _content_version(header.name, header.tenant, cases)
        return Suite(header.name, header.tenant, version, tuple(cases), header.description)

    def _header(self, fields: dict[str, Any], line: int | None) -> _Header | None:
        try:
            header = _Header.model_validate(fields)
        except ValidationError as error:
            for problem in error.errors():
                _, field, message = _pydantic_problem(problem, _Header)
                self.report(line, "", field, message)
            return None
        for name in ("name", "tenant", "version"):
            value = getattr(header, name)
            if value is not None and not value.strip():
                self.report(line, "", name, "empty")
        return header

    def _cases(self, raw_cases: Any, lines: list[int]) -> list[Case]:
        if raw_cases is None:
            self.report(None, "", "cases", "required (a list of cases)")
            return []
        if not isinstance(raw_cases, list):
            self.report(None, "", "cases", f"expected a list of cases, got {raw_cases!r}")
            return []
        if not raw_cases:
            self.report(None, "", "cases", "a suite needs at least one case")
        cases: list[Case] = []
        first_seen: dict[str, int] = {}
        for index, raw in enumerate(raw_cases):
            case_id = raw.get("id") if isinstance(raw, dict) else None
            label = f'case "{case_id}"' if isinstance(case_id, str) else f"case #{index + 1}"
            bad = _CaseReport(self, lines[index] if index < len(lines) else None, label)
            if isinstance(case_id, str):
                if case_id in first_seen:
                    bad("id", f"duplicate, already used by case #{first_seen[case_id]}")
                first_seen.setdefault(case_id, index + 1)
            case = self._case(raw, bad)
            if case is not None and not bad.count:
                cases.append(case)
        return cases

    def _case(self, raw: Any, bad: _CaseReport) -> Case | None:
        if not isinstance(raw, dict):
            bad("", f"expected a mapping with id, tags and turns, got {raw!r}")
            return None
        try:
            model = _Case.model_validate(raw)
        except ValidationError as error:
            for problem in error.errors():
                turn, field, message = _pydantic_problem(problem, _Case)
                bad(field, message, turn)
            return None
        if not _CASE_ID.match(model.id):
            bad("id", f"{model.id!r}: use letters, digits and . _ : - (no spaces)")
        language = self._language(model.tags, bad)
        if not model.turns:
            bad("turns", "a case needs at least one customer turn")
        turns: list[Turn] = []
        for number, written in enumerate(model.turns, 1):
            if not written.text.strip():
                bad("text", "empty", number)
            if turns and turns[-1].expect.actions == {"escalate"}:
                bad(
                    "",
                    f"follows turn {number - 1}, which expects an escalation: the conversation "
                    "then waits for an adviser and the bot does not answer, so this turn "
                    "could never be judged (end the case at the escalation)",
                    number,
                )
            expect = self._expect(written.expect, partial(bad, turn=number))
            # A case without a valid language tag is rejected; its turns are still checked
            # so that every problem is reported in one pass.
            turns.append(Turn(written.text, written.language or language or "fr", expect))
        if language is None:
            return None
        return Case(model.id, language, tuple(turns), tuple(model.tags), model.description)

    @staticmethod
    def _language(tags: list[str], bad: _CaseReport) -> DetectedLanguage | None:
        """The one ``language:<code>`` tag every case has; None after reporting why not."""
        found: list[DetectedLanguage] = []
        unknown = False
        for index, tag in enumerate(tags):
            match = _TAG.match(tag)
            if match is None:
                bad(f"tags[{index}]", f"{tag!r} is not key:value (e.g. topic:billing)")
            elif match["key"] == LANGUAGE_TAG:
                code = next((c for c in LANGUAGES if c == match["value"]), None)
                if code is None:
                    known = ", ".join(LANGUAGES)
                    bad(f"tags[{index}]", f"unknown language {match['value']!r} (one of {known})")
                    unknown = True
                else:
                    found.append(code)
        if unknown:
            return None
        if len(found) != 1:
            got = ", ".join(found) or "none"
            bad("tags", f"exactly one language:<code> tag is required, got {got}")
            return None
        return found[0]

    def _expect(self, model: _Expect, bad: Callable[[str, str], None]) -> Expectation:
        actions = frozenset(model.action)
        if model.category and not actions:
            actions = frozenset({"escalate"})
        elif model.category and "escalate" not in actions:
            listed = ", ".join(sorted(actions))
            bad(
                "expect.category",
                f"only an escalation has a category, but expect.action is {listed}",
            )
        for index, category in enumerate(model.category):
            if category not in self.categories:
                hint = _suggestion(category, self.categories)
                known = ", ".join(sorted(self.categories))
                field = (
                    f"expect.category[{index}]" if len(model.category) > 1 else "expect.category"
                )
                bad(field, f"{category!r} is not a category{hint} (one of {known})")
        if actions and "answer" not in actions:
            for key in ("cite", "reference"):
                if getattr(model, key):
                    listed = ", ".join(sorted(actions))
                    bad(
                        f"expect.{key}",
                        f"only an answer is judged on it, but expect.action is {listed}",
                    )
        for key in ("cite", "must_contain", "must_not_contain"):
            for index, value in enumerate(getattr(model, key)):
                if not normalize_text(value):
                    bad(f"expect.{key}[{index}]", "empty")
        for index, item in enumerate(model.cite):
            source, hash_sign, title = item.partition("#")
            if hash_sign and not (source.strip() and title.strip()):
                bad(f"expect.cite[{index}]", f"{item!r}: write document#title")
        if model.reference is not None and not model.reference.strip():
            bad("expect.reference", "empty")
        both = {normalize_text(s) for s in model.must_contain} & {
            normalize_text(s) for s in model.must_not_contain
        }
        if both:
            bad("expect.must_not_contain", f"{sorted(both)[0]!r} is also in must_contain")
        return Expectation(
            actions=actions,
            categories=frozenset(model.category),
            reply_language=model.reply_language,
            cite=tuple(model.cite),
            reference=model.reference,
            must_contain=tuple(model.must_contain),
            must_not_contain=tuple(model.must_not_contain),
            redactions=frozenset(model.redactions),
        )


def _content_version(name: str, tenant: str | None, cases: list[Case]) -> str:
    """sha256 of the canonical JSON of what is evaluated (descriptions left out), 12 hex:
    the same cases give the same version whatever the file format or key order."""
    canonical = {
        "name": name,
        "tenant": tenant,
        "cases": [
            {
                "id": case.id,
                "tags": sorted(case.tags),
                "turns": [
                    {
                        "text": turn.text,
                        "language": turn.language,
                        "expect": {
                            "actions": sorted(turn.expect.actions),
                            "categories": sorted(turn.expect.categories),
                            "reply_language": turn.expect.reply_language,
                            "cite": list(turn.expect.cite),
                            "reference": turn.expect.reference,
                            "must_contain": list(turn.expect.must_contain),
                            "must_not_contain": list(turn.expect.must_not_contain),
                            "redactions": sorted(turn.expect.redactions),
                        },
                    }
                    for turn in case.turns
                ],
            }
            for case in cases
        ],
    }
    encoded = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:VERSION_LENGTH]
