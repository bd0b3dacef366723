"""Typed access to the canned messages, adviser texts and LLM prompts kept as YAML files.

Wording lives in data files so that translators and reviewers can change it without
touching code; this module only finds, checks and formats it. Each file is validated in
full the first time it is read, so a broken translation fails at the first use of that
language instead of showing a customer a half-formatted bubble.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar, get_args

import yaml

ReplyLanguage = Literal["fr", "ar", "en"]
AdviserLanguage = Literal["fr", "en"]
EscalationCategory = Literal[
    "human_request",
    "complaint",
    "billing_anomaly",
    "payment_difficulty",
    "cancellation",
    "fraud",
    "vulnerability",
    "distress",
    "legal",
    "data_protection",
    "service_anomaly",
    "no_answer_repeated",
]
Priority = Literal["low", "normal", "high", "urgent"]

# One spelling of each list: the tuples are read off the Literal types.
REPLY_LANGUAGES: Final[tuple[ReplyLanguage, ...]] = get_args(ReplyLanguage)
ADVISER_LANGUAGES: Final[tuple[AdviserLanguage, ...]] = get_args(AdviserLanguage)
ESCALATION_CATEGORIES: Final[tuple[EscalationCategory, ...]] = get_args(EscalationCategory)
PRIORITIES: Final[tuple[Priority, ...]] = get_args(Priority)

_PACKAGE: Final = __package__ or "prompts"
_KEY: Final = re.compile(r"[a-z][a-z0-9_]*\Z")
# Names of the formatting functions' own parameters: a placeholder with one of these names
# could never be given a value.
_RESERVED_FIELDS: Final = frozenset({"key", "language", "part", "self"})
_LLM_FIELDS: Final = frozenset({"version", "description", "system", "user", "parts"})

_L = TypeVar("_L", bound=str)


class CatalogError(Exception):
    """Base class of the errors raised about the prompt files or their use."""


class _SentenceKeyError(KeyError):
    # KeyError shows the repr of its argument; these errors carry a readable sentence.
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingMessageError(CatalogError, _SentenceKeyError):
    """A message or adviser text key that the file for that language does not define."""

    def __init__(self, key: str, source: str, known: frozenset[str]) -> None:
        hint = difflib.get_close_matches(key, sorted(known), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        super().__init__(f"no text {key!r} in {source}{suggestion}")
        self.key = key
        self.source = source


class MissingPromptError(CatalogError, _SentenceKeyError):
    """An LLM prompt name with no file under prompts/llm/, or a part the prompt lacks."""


class MissingValueError(CatalogError, _SentenceKeyError):
    """A template was formatted without a value for one of its placeholders."""

    def __init__(self, what: str, missing: frozenset[str], given: frozenset[str]) -> None:
        got = ", ".join(sorted(given)) or "nothing"
        super().__init__(f"{what} needs a value for {', '.join(sorted(missing))} (given: {got})")
        self.missing = missing


class InvalidValueError(CatalogError, ValueError):
    """A placeholder value that would produce a broken text (None, a bool, a blank string)."""


class UnsupportedLanguageError(CatalogError, ValueError):
    """A language with no file of that kind."""


class CatalogFileError(CatalogError, ValueError):
    """A prompt or message file that is not valid YAML or breaks the file conventions."""


@dataclass(frozen=True)
class LlmPrompt:
    """A system and a user template, both in str.format syntax.

    The braces convention is the one LangChain's f-string prompt templates use, so
    ``system`` and ``user`` can also be handed to ChatPromptTemplate unchanged.
    """

    name: str
    version: int
    description: str
    system: str
    user: str
    parts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    """Smaller templates the caller uses to build values, e.g. one retrieved passage."""

    @property
    def system_fields(self) -> frozenset[str]:
        return placeholders(self.system)

    @property
    def user_fields(self) -> frozenset[str]:
        return placeholders(self.user)

    @property
    def fields(self) -> frozenset[str]:
        return self.system_fields | self.user_fields

    def format_system(self, **values: str | int) -> str:
        """Extra values are ignored, so one dict can serve both templates."""
        return _format(self.system, values, f"prompt {self.name!r} (system)", allow_blank=True)

    def format_user(self, **values: str | int) -> str:
        return _format(self.user, values, f"prompt {self.name!r} (user)", allow_blank=True)

    def format_part(self, part: str, /, **values: str | int) -> str:
        try:
            template = self.parts[part]
        except KeyError:
            known = ", ".join(sorted(self.parts)) or "none"
            raise MissingPromptError(
                f"prompt {self.name!r} has no part {part!r} (parts: {known})"
            ) from None
        return _format(template, values, f"prompt {self.name!r} part {part!r}", allow_blank=True)


def message(key: str, language: ReplyLanguage, **values: str | int) -> str:
    """A canned customer message with its placeholders filled.

    Values for placeholders the message does not use are ignored, so a caller may pass the
    same tenant values (company, payment_url, ...) to every message.
    """
    catalog = _messages(_checked(language, REPLY_LANGUAGES, "reply"))
    source = f"prompts/messages/{language}.yaml"
    return _format(_lookup(catalog, key, source), values, f"message {key!r} ({language})")


def message_keys(language: ReplyLanguage) -> frozenset[str]:
    return frozenset(_messages(_checked(language, REPLY_LANGUAGES, "reply")))


def adviser_text(key: str, language: AdviserLanguage = "fr", **values: str | int) -> str:
    """A text for advisers; nested YAML keys are dotted, e.g. ``reason.fraud``."""
    catalog = _adviser(_checked(language, ADVISER_LANGUAGES, "adviser"))
    source = f"prompts/adviser/{language}.yaml"
    return _format(_lookup(catalog, key, source), values, f"adviser text {key!r} ({language})")


def adviser_keys(language: AdviserLanguage = "fr") -> frozenset[str]:
    return frozenset(_adviser(_checked(language, ADVISER_LANGUAGES, "adviser")))


@cache
def llm_prompt(name: str) -> LlmPrompt:
    if not _KEY.match(name):
        raise MissingPromptError(f"invalid prompt name {name!r}")
    resource = _resource("llm", f"{name}.yaml")
    if not resource.is_file():
        known = ", ".join(sorted(llm_prompt_names()))
        raise MissingPromptError(f"no LLM prompt {name!r} (available: {known})")
    return _parse_llm_prompt(name, resource.read_text(encoding="utf-8"))


def llm_prompt_names() -> frozenset[str]:
    folder = _resource("llm")
    return frozenset(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".yaml")
    )


def placeholders(template: str) -> frozenset[str]:
    """The str.format field names of a template; rejects anything but plain ``{name}``."""
    return _fields(template)


@cache
def _fields(template: str) -> frozenset[str]:
    # Only plain lowercase names: positional fields, attribute access, conversions and format
    # specs would let a translation depend on how the caller builds its values.
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise CatalogFileError(f"unbalanced braces in {template!r}: {error}") from error
    names: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _KEY.match(name) or spec or conversion:
            raise CatalogFileError(
                f"placeholder {{{name}}} in {template!r} must be a plain lowercase name"
            )
        if name in _RESERVED_FIELDS:
            raise CatalogFileError(f"placeholder {{{name}}} in {template!r} is a reserved name")
        names.add(name)
    return frozenset(names)


def _format(
    template: str,
    values: Mapping[str, str | int],
    what: str,
    *,
    allow_blank: bool = False,
) -> str:
    needed = _fields(template)
    missing = needed - values.keys()
    if missing:
        raise MissingValueError(what, missing, frozenset(values))
    for name in sorted(needed):
        value: Any = values[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidValueError(
                f"{what}: value for {{{name}}} must be text or a whole number, got {value!r}"
            )
        if not allow_blank and isinstance(value, str) and not value.strip():
            raise InvalidValueError(f"{what}: value for {{{name}}} is blank")
    return template.format_map({name: values[name] for name in needed})


def _checked(language: str, supported: tuple[_L, ...], kind: str) -> _L:
    for candidate in supported:
        if language == candidate:
            return candidate
    # Darija and Arabizi are customer languages, not reply languages: which one answers
    # them is the agent's policy, so the hint says so instead of guessing.
    hint = "; map the customer's language to a reply language first" if kind == "reply" else ""
    raise UnsupportedLanguageError(
        f"no {kind} texts in {language!r} (supported: {', '.join(supported)}){hint}"
    )


def _lookup(catalog: Mapping[str, str], key: str, source: str) -> str:
    try:
        return catalog[key]
    except KeyError:
        raise MissingMessageError(key, source, frozenset(catalog)) from None


@cache
def _messages(language: ReplyLanguage) -> Mapping[str, str]:
    path = ("messages", f"{language}.yaml")
    return _parse_catalog(_resource(*path).read_text(encoding="utf-8"), "prompts/" + "/".join(path))


@cache
def _adviser(language: AdviserLanguage) -> Mapping[str, str]:
    path = ("adviser", f"{language}.yaml")
    return _parse_catalog(_resource(*path).read_text(encoding="utf-8"), "prompts/" + "/".join(path))


def _resource(*parts: str) -> Traversable:
    resource = files(_PACKAGE)
    for part in parts:
        resource = resource / part
    return resource


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys instead of keeping the last one silently.

    A key pasted twice while translating would otherwise hide the first text without a
    trace.
    """


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "keys must be plain names", key_node.start_mark
            )
        key = loader.construct_object(key_node)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _load_yaml(text: str, source: str) -> object:
    try:
        # Safe: _UniqueKeyLoader is a SafeLoader, it only builds plain data.
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise CatalogFileError(f"{source}: invalid YAML: {error}") from error


def _parse_catalog(text: str, source: str) -> Mapping[str, str]:
    """A message or adviser file as flat dotted keys, every template checked."""
    flat: dict[str, str] = {}
    _flatten(_load_yaml(text, source), source, "", flat)
    if not flat:
        raise CatalogFileError(f"{source}: no texts")
    return MappingProxyType(flat)


def _flatten(node: object, source: str, prefix: str, out: dict[str, str]) -> None:
    where = f" under {prefix.rstrip('.')!r}" if prefix else ""
    if not isinstance(node, dict) or not node:
        raise CatalogFileError(f"{source}: expected a mapping of names to texts{where}")
    for raw_key, value in node.items():
        if not isinstance(raw_key, str) or not _KEY.match(raw_key):
            raise CatalogFileError(
                f"{source}: key {raw_key!r}{where} must be a lowercase name (a-z, 0-9, _)"
            )
        key = prefix + raw_key
        if isinstance(value, dict):
            _flatten(value, source, key + ".", out)
        else:
            out[key] = _checked_text(value, source, key)


def _checked_text(value: object, source: str, key: str) -> str:
    # YAML turns unquoted yes/no/on/off, numbers and dates into other types; a text must be
    # quoted or at least come back as a string.
    if not isinstance(value, str):
        raise CatalogFileError(f"{source}: {key} must be text, got {type(value).__name__}")
    if not value.strip():
        raise CatalogFileError(f"{source}: {key} is empty")
    try:
        _fields(value)
    except CatalogFileError as error:
        raise CatalogFileError(f"{source}: {key}: {error}") from None
    return value


def _parse_llm_prompt(name: str, text: str) -> LlmPrompt:
    source = f"prompts/llm/{name}.yaml"
    data = _load_yaml(text, source)
    if not isinstance(data, dict):
        raise CatalogFileError(f"{source}: expected a mapping with system and user templates")
    unknown = set(data) - _LLM_FIELDS
    if unknown:
        raise CatalogFileError(f"{source}: unknown fields {sorted(map(str, unknown))}")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CatalogFileError(f"{source}: version must be a positive whole number")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise CatalogFileError(f"{source}: description must be text")
    raw_parts = data.get("parts", {})
    parts: dict[str, str] = {}
    if raw_parts:
        _flatten(raw_parts, source, "parts.", parts)
    return LlmPrompt(
        name=name,
        version=version,
        description=description,
        system=_checked_text(data.get("system"), source, "system"),
        user=_checked_text(data.get("user"), source, "user"),
        parts=MappingProxyType({key.removeprefix("parts."): v for key, v in parts.items()}),
    )
