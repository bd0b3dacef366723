from __future__ import annotations

import json
import re
import string
import unicodedata
from importlib.resources import files
from typing import get_args

import pytest

from knowledge_base.language import LANGUAGES
from prompts import (
    ADVISER_LANGUAGES,
    ESCALATION_CATEGORIES,
    PRIORITIES,
    REPLY_LANGUAGES,
    AdviserLanguage,
    CatalogError,
    CatalogFileError,
    EscalationCategory,
    InvalidValueError,
    MissingMessageError,
    MissingPromptError,
    MissingValueError,
    Priority,
    ReplyLanguage,
    UnsupportedLanguageError,
    adviser_keys,
    adviser_text,
    llm_prompt,
    llm_prompt_names,
    message,
    message_keys,
    placeholders,
)
from prompts.catalog import _parse_catalog, _parse_llm_prompt

REQUIRED_MESSAGES = {
    "greeting": {"company"},
    "ai_disclosure": set(),
    "handoff_notice": set(),
    "handoff_wait": {"minutes"},
    "out_of_hours": {"hours"},
    "no_answer": set(),
    "no_answer_repeated": set(),
    "suggestions": {"first", "second"},
    "card_data_warning": {"payment_url"},
    "card_data_warning_generic": set(),
    "refusal": set(),
    "abuse_warning": set(),
    "clarify": set(),
    "source_preface": set(),
    "source_preface_named": {"source_language"},
    "answer_preface": set(),
    "offer_adviser": set(),
    "feedback_thanks": set(),
    "handoff_cancelled": set(),
    "conversation_closed": set(),
    "rate_limited": set(),
    "message_too_long": {"max_chars"},
    "adviser_joined": {"adviser_name"},
    "adviser_left": set(),
    "leave_message_offer": set(),
    "pii_removed_notice": set(),
}
LLM_PLACEHOLDERS = {
    "grounded_answer": (
        {"company", "reply_language", "no_answer"},
        {"history", "passages", "question", "reply_language"},
    ),
    "triage": ({"company"}, {"history", "message"}),
    "query_rewrite": ({"company"}, {"history", "question"}),
    "summary": ({"company"}, {"conversation"}),
}
JUNK = re.compile(r"TODO|FIXME|XXX|TBD|lorem|%s|%\(|\$\{|\{\{|\}\}|<[a-z/]|\\n|\[\[|\?\?", re.I)
SENTENCE_END = re.compile(r"[.!?؟](?=\s|$)")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def sample_values(names: set[str] | frozenset[str]) -> dict[str, str]:
    return {name: f"<{name}>" for name in names}


def templates(language: ReplyLanguage) -> dict[str, str]:
    # The raw templates are what translators edit; read them through the loader's own parser
    # so that the tests see exactly what message() sees.
    path = f"messages/{language}.yaml"
    text = files("prompts").joinpath(path).read_text(encoding="utf-8")
    return dict(_parse_catalog(text, path))


def adviser_templates(language: AdviserLanguage) -> dict[str, str]:
    path = f"adviser/{language}.yaml"
    text = files("prompts").joinpath(path).read_text(encoding="utf-8")
    return dict(_parse_catalog(text, path))


def without_placeholders(template: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "", template)


def letters(text: str) -> list[str]:
    return [ch for ch in text if ch.isalpha()]


def is_arabic(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("ARABIC")


# --- Constants ---------------------------------------------------------------------------


def test_constants_match_their_literal_types() -> None:
    assert get_args(ReplyLanguage) == REPLY_LANGUAGES
    assert get_args(AdviserLanguage) == ADVISER_LANGUAGES
    assert get_args(EscalationCategory) == ESCALATION_CATEGORIES
    assert get_args(Priority) == PRIORITIES


def test_only_the_supported_languages_have_files() -> None:
    root = files("prompts")
    assert {e.name for e in root.joinpath("messages").iterdir()} == {
        f"{lang}.yaml" for lang in REPLY_LANGUAGES
    }
    assert {e.name for e in root.joinpath("adviser").iterdir()} == {
        f"{lang}.yaml" for lang in ADVISER_LANGUAGES
    }


# --- Customer messages -------------------------------------------------------------------


@pytest.mark.parametrize("language", REPLY_LANGUAGES)
def test_required_messages_exist_with_their_placeholders(language: ReplyLanguage) -> None:
    catalog = templates(language)
    for key, expected in REQUIRED_MESSAGES.items():
        assert key in catalog, f"{language}: missing {key}"
        assert fields(catalog[key]) == expected, f"{language}: {key}"


@pytest.mark.parametrize("language", REPLY_LANGUAGES)
def test_language_names_cover_every_reply_language(language: ReplyLanguage) -> None:
    for source in REPLY_LANGUAGES:
        assert f"language_name.{source}" in message_keys(language)


def test_every_language_has_the_same_keys() -> None:
    reference = message_keys("fr")
    for language in REPLY_LANGUAGES:
        keys = message_keys(language)
        assert not reference - keys, f"missing in {language}: {sorted(reference - keys)}"
        assert not keys - reference, f"only in {language}: {sorted(keys - reference)}"


def test_placeholders_are_the_same_in_every_language() -> None:
    catalogs = {language: templates(language) for language in REPLY_LANGUAGES}
    for key, template in catalogs["fr"].items():
        for language, catalog in catalogs.items():
            assert fields(catalog[key]) == fields(template), f"{key}: fr vs {language}"


@pytest.mark.parametrize("language", REPLY_LANGUAGES)
def test_messages_format_into_clean_chat_bubbles(language: ReplyLanguage) -> None:
    for key, template in templates(language).items():
        text = message(key, language, **sample_values(fields(template)))
        assert text == text.strip(), f"{language}: {key} has outer whitespace"
        assert "\n" not in text, f"{language}: {key} spans several lines"
        assert "  " not in text, f"{language}: {key} has a double space"
        assert "{" not in text and "}" not in text, f"{language}: {key}"
        assert not JUNK.search(without_placeholders(template)), f"{language}: {key}: junk"
        assert len(text) <= 320, f"{language}: {key} is too long for a chat bubble"
        assert len(SENTENCE_END.findall(text)) <= 3, f"{language}: {key} has over 3 sentences"


def test_arabic_messages_are_written_in_arabic_script() -> None:
    for key, template in templates("ar").items():
        chars = letters(without_placeholders(template))
        arabic = sum(1 for ch in chars if is_arabic(ch))
        assert chars, key
        assert arabic / len(chars) >= 0.95, f"ar: {key} is not mostly Arabic letters"
        # Latin punctuation in a right-to-left sentence reads as a typo.
        assert not re.search(r"[,;?]", template), f"ar: {key} uses Latin punctuation"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_latin_script_messages_contain_no_arabic(language: ReplyLanguage) -> None:
    for key, template in templates(language).items():
        assert not any(is_arabic(ch) for ch in template), f"{language}: {key}"


def test_french_punctuation_never_starts_a_line() -> None:
    french = {f"message {k}": v for k, v in templates("fr").items()}
    french |= {f"adviser {k}": v for k, v in adviser_templates("fr").items()}
    for key, template in french.items():
        # A no-break space (U+00A0 or U+202F) must precede : ; ! ? in French.
        assert not re.search(r"[^\u00a0\u202f][:;!?]", template), f"fr {key}: {template!r}"


def test_french_messages_use_vous() -> None:
    for key, template in templates("fr").items():
        assert not re.search(r"\b(tu|toi|ton|ta|tes)\b", template, re.I), key


@pytest.mark.parametrize("language", REPLY_LANGUAGES)
def test_urls_are_never_followed_by_punctuation(language: ReplyLanguage) -> None:
    # Chat clients that linkify URLs would take a trailing full stop into the link.
    for key, template in templates(language).items():
        assert not re.search(r"_url\}\S", template), f"{language}: {key}"


@pytest.mark.parametrize("language", REPLY_LANGUAGES)
def test_card_warning_shows_the_payment_url(language: ReplyLanguage) -> None:
    url = "https://paiement.example.ma/factures?ref=A1"
    text = message("card_data_warning", language, payment_url=url)
    assert text.endswith(url)


@pytest.mark.parametrize("language", REPLY_LANGUAGES)
def test_source_preface_names_the_source_language(language: ReplyLanguage) -> None:
    assert message("source_preface", language)
    for source in REPLY_LANGUAGES:
        name = message(f"language_name.{source}", language)
        assert name in message("source_preface_named", language, source_language=name)


def test_values_for_unused_placeholders_are_ignored() -> None:
    text = message("greeting", "en", company="Acme", payment_url="https://x.example")
    assert "Acme" in text
    assert message("handoff_wait", "fr", minutes=5).startswith("Temps d'attente estimé")


# --- Errors ------------------------------------------------------------------------------


def test_unknown_message_key_is_a_clear_key_error() -> None:
    with pytest.raises(MissingMessageError) as caught:
        message("greting", "fr")
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, CatalogError)
    assert str(caught.value) == (
        "no text 'greting' in prompts/messages/fr.yaml; did you mean 'greeting'?"
    )
    assert caught.value.key == "greting"


def test_missing_placeholder_value_names_what_is_missing() -> None:
    with pytest.raises(MissingValueError) as caught:
        message("handoff_wait", "ar", company="Acme")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == (
        "message 'handoff_wait' (ar) needs a value for minutes (given: company)"
    )
    assert caught.value.missing == {"minutes"}


@pytest.mark.parametrize("bad", [None, True, "", "   ", 2.5])
def test_values_that_would_break_a_bubble_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValueError, match="company"):
        message("greeting", "fr", company=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["darija", "arabizi", "de", ""])
def test_unsupported_reply_language(language: str) -> None:
    with pytest.raises(UnsupportedLanguageError):
        message("greeting", language, company="Acme")  # type: ignore[arg-type]
    with pytest.raises(UnsupportedLanguageError):
        message_keys(language)  # type: ignore[arg-type]


def test_darija_error_says_to_map_to_a_reply_language() -> None:
    with pytest.raises(UnsupportedLanguageError, match="map the customer's language"):
        message("greeting", "darija", company="Acme")  # type: ignore[arg-type]


# --- Adviser texts -----------------------------------------------------------------------


def test_adviser_files_have_the_same_keys_and_placeholders() -> None:
    fr, en = adviser_templates("fr"), adviser_templates("en")
    assert set(fr) == set(en) == adviser_keys("fr") == adviser_keys("en")
    for key in fr:
        assert fields(fr[key]) == fields(en[key]), key


@pytest.mark.parametrize("language", ADVISER_LANGUAGES)
def test_every_escalation_category_has_a_reason_and_a_label(language: AdviserLanguage) -> None:
    keys = adviser_keys(language)
    reasons = {k.removeprefix("reason.") for k in keys if k.startswith("reason.")}
    labels = {k.removeprefix("category_label.") for k in keys if k.startswith("category_label.")}
    assert reasons == labels == set(ESCALATION_CATEGORIES)
    for category in ESCALATION_CATEGORIES:
        reason = adviser_text(f"reason.{category}", language)
        assert reason.endswith("."), reason
        assert len(SENTENCE_END.findall(reason)) == 1, f"{category}: one sentence"
        assert adviser_text(f"category_label.{category}", language)


@pytest.mark.parametrize("language", ADVISER_LANGUAGES)
def test_adviser_labels_for_priorities_and_customer_languages(language: AdviserLanguage) -> None:
    for priority in PRIORITIES:
        assert adviser_text(f"priority_label.{priority}", language)
    for customer_language in LANGUAGES:
        assert adviser_text(f"language_name.{customer_language}", language)


def test_adviser_summary_template() -> None:
    summary = adviser_text(
        "summary",
        customer_language=adviser_text("language_name.darija"),
        category_label=adviser_text("category_label.fraud"),
        excerpt="« chi wa7ed khlles b la carte dyali »",
    )
    assert summary == "Client (darija) — Fraude\u00a0: « chi wa7ed khlles b la carte dyali »"
    with pytest.raises(MissingValueError, match="excerpt"):
        adviser_text("summary", "en", customer_language="Darija", category_label="Fraud")
    with pytest.raises(MissingMessageError):
        adviser_text("reason.unknown_category")
    with pytest.raises(UnsupportedLanguageError):
        adviser_text("summary", "ar")  # type: ignore[arg-type]


# --- LLM prompts -------------------------------------------------------------------------


def test_categories_match_the_agent_contract() -> None:
    result = pytest.importorskip("agent.result")
    assert tuple(result.CATEGORIES) == ESCALATION_CATEGORIES


def test_llm_prompts_are_all_known() -> None:
    assert llm_prompt_names() == set(LLM_PLACEHOLDERS)


@pytest.mark.parametrize("name", sorted(LLM_PLACEHOLDERS))
def test_llm_prompt_placeholders(name: str) -> None:
    prompt = llm_prompt(name)
    system_fields, user_fields = LLM_PLACEHOLDERS[name]
    assert prompt.name == name
    assert prompt.version >= 1
    assert prompt.description
    assert prompt.system_fields == system_fields
    assert prompt.user_fields == user_fields
    assert prompt.fields == system_fields | user_fields
    assert llm_prompt(name) is prompt  # cached


@pytest.mark.parametrize("name", sorted(LLM_PLACEHOLDERS))
def test_llm_prompts_format_without_leftover_fields(name: str) -> None:
    prompt = llm_prompt(name)
    values = {field: f"@@{field}@@" for field in prompt.fields}
    text = prompt.format_system(**values) + prompt.format_user(**values)
    assert not re.search(r"\{[a-z_]+\}", text), name
    for field in prompt.fields:
        assert f"@@{field}@@" in text, f"{name}: the value of {field} never reaches the model"
    # Conversation text is untrusted: the model must be told it is data.
    assert "not instructions" in prompt.system
    assert "never reveal" in prompt.system.lower()


def test_llm_prompts_accept_an_empty_history() -> None:
    prompt = llm_prompt("query_rewrite")
    assert "<conversation>\n\n</conversation>" in prompt.format_user(history="", question="q")


def test_grounded_answer_prompt() -> None:
    prompt = llm_prompt("grounded_answer")
    for language in REPLY_LANGUAGES:
        assert f"- {language}:" in prompt.system
    no_answer = message("no_answer", "ar")
    system = prompt.format_system(company="Acme", reply_language="ar", no_answer=no_answer)
    assert f"\n{no_answer}\n" in system
    assert "[tarifs-0003-1a2b3c4d]" in system
    passage = prompt.format_part("passage", chunk_id="faq-0001-abcd1234", text="Horaires : 9 h.")
    assert passage == "[faq-0001-abcd1234] Horaires : 9 h."
    # Passage text full of braces must reach the model untouched, not be re-formatted.
    user = prompt.format_user(
        history="", passages="[a] {price} }{", question="?", reply_language="fr"
    )
    assert "[a] {price} }{" in user
    with pytest.raises(MissingPromptError, match="passage"):
        prompt.format_part("chunk")
    with pytest.raises(MissingValueError, match="no_answer"):
        prompt.format_system(company="Acme", reply_language="fr")


def test_triage_prompt_matches_the_category_contract() -> None:
    prompt = llm_prompt("triage")
    for category in ESCALATION_CATEGORIES:
        assert f"- {category}:" in prompt.system, category
    for word in ('"none"', "category", "priority", "reason", "needs_human", *PRIORITIES):
        assert word in prompt.system
    system = prompt.format_system(company="Acme")
    examples = [json.loads(m) for m in re.findall(r"\{\"category\": \"[a-z_]+\".*?\}", system)]
    assert len(examples) >= 4
    for example in examples:
        assert set(example) == {"category", "priority", "reason", "needs_human"}
        assert example["category"] in {*ESCALATION_CATEGORIES, "none"} - {"no_answer_repeated"}
        assert example["priority"] in PRIORITIES
        assert isinstance(example["needs_human"], bool)
        assert not any(is_arabic(ch) for ch in example["reason"])  # reasons are French


def test_triage_prompt_breaks_ties_like_the_rule_based_triage() -> None:
    rules = pytest.importorskip("agent.triage")
    system = llm_prompt("triage").system
    order = re.search(r"choose the first in this order[^:]*: ([a-z_, ]+)\.", system)
    assert order is not None
    assert order.group(1).split(", ") == list(rules.PRECEDENCE)


def test_unknown_llm_prompt() -> None:
    with pytest.raises(MissingPromptError, match=r"available: .*triage"):
        llm_prompt("triag")
    with pytest.raises(MissingPromptError, match="invalid prompt name"):
        llm_prompt("../messages/fr")


# --- File validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('greeting: "a"\ngreeting: "b"\n', "duplicate key 'greeting'"),
        ("greeting: yes\n", "greeting must be text, got bool"),
        ('greeting: ""\n', "greeting is empty"),
        ('Greeting: "a"\n', "must be a lowercase name"),
        ('greeting: "Bonjour {0}"\n', "plain lowercase name"),
        ('greeting: "Bonjour {company!r}"\n', "plain lowercase name"),
        ('greeting: "Attente {minutes:>3}"\n', "plain lowercase name"),
        ('greeting: "Bonjour {company"\n', "unbalanced braces"),
        ('greeting: "Bonjour {language}"\n', "reserved name"),
        ("- greeting\n", "expected a mapping"),
        ("section: {}\n", "expected a mapping of names to texts under 'section'"),
        ('greeting: "a\n', "invalid YAML"),
        ("", "expected a mapping"),
    ],
)
def test_malformed_catalogs_are_rejected(text: str, problem: str) -> None:
    with pytest.raises(CatalogFileError, match=re.escape(problem)):
        _parse_catalog(text, "test.yaml")


def test_nested_keys_are_dotted() -> None:
    parsed = _parse_catalog('a: "x"\nb:\n  c: "y {z}"\n', "test.yaml")
    assert dict(parsed) == {"a": "x", "b.c": "y {z}"}
    assert placeholders(parsed["b.c"]) == {"z"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('version: 1\nsystem: "s"\nuser: "u"\nsytem: "typo"\n', "unknown fields ['sytem']"),
        ('system: "s"\nuser: "u"\n', "version must be a positive whole number"),
        ('version: true\nsystem: "s"\nuser: "u"\n', "version must be a positive whole number"),
        ('version: 1\nsystem: "s"\n', "user must be text"),
        ('version: 1\nsystem: "s {x!r}"\nuser: "u"\n', "plain lowercase name"),
    ],
)
def test_malformed_llm_prompts_are_rejected(text: str, problem: str) -> None:
    with pytest.raises(CatalogFileError, match=re.escape(problem)):
        _parse_llm_prompt("test", text)
