"""The evaluation-suite format (eval/SUITES.md): loading, validation, versions, and the
sample suites QA staff start from."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.language import reply_language
from agent.result import CATEGORIES, Citation
from eval.suite import Suite, SuiteError, cites, contains, load_suite, suite_files
from knowledge_base.loaders import load_document
from tests.conftest import REPO

SAMPLES = REPO / "samples"
TENANTS = ("atlastel", "yusr")
# The share of each language in the sample tenant suites, as SUITES.md documents it.
LANGUAGE_SHARES = {"fr": 0.35, "ar": 0.20, "darija": 0.20, "arabizi": 0.15, "en": 0.10}
SHARE_TOLERANCE = 0.05

SUITE_YAML = """\
name: billing
tenant: atlastel
description: A sample for the tests.
cases:
  - id: deadline-fr
    tags: ["language:fr", "topic:billing"]
    turns:
      - text: "Jusqu'à quand puis-je payer ma facture ?"
        expect:
          action: answer
          reply_language: fr
          cite: "faq_fr.md#Quand ma facture est-elle émise et jusqu'à quand puis-je la payer ?"
          must_contain: ["15"]
          reference: "Au plus tard le 15 du mois."
  - id: conv-darija
    tags: ["language:darija", "topic:plans"]
    turns:
      - text: "شحال كيسوا الفورفي ديال 99؟"
        expect: {action: answer, cite: [faq_ar.csv, faq_fr.md]}
      - text: "بغيت نهضر مع شي واحد"
        expect: {category: human_request, reply_language: ar}
"""


def jsonl_of(document: dict[str, Any]) -> str:
    header = {key: value for key, value in document.items() if key != "cases"}
    lines = [json.dumps({"suite": header}, ensure_ascii=False)]
    lines += [json.dumps(case, ensure_ascii=False) for case in document["cases"]]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    return str(raised.value)


def one_case_suite(case: dict[str, Any]) -> str:
    document = {"name": "s", "tenant": "atlastel", "cases": [case]}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


# --- Loading -------------------------------------------------------------------------------


def test_a_yaml_suite_and_its_jsonl_form_load_into_the_same_suite(tmp_path: Path) -> None:
    from_yaml = load_suite(write(tmp_path, "billing.yaml", SUITE_YAML))
    as_jsonl = jsonl_of(yaml.safe_load(SUITE_YAML))
    from_jsonl = load_suite(write(tmp_path, "billing.jsonl", as_jsonl))

    assert from_jsonl == from_yaml
    assert from_jsonl.version == from_yaml.version


def test_a_loaded_suite_reads_in_the_words_of_the_file(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, "billing.yaml", SUITE_YAML))

    assert (suite.name, suite.tenant, len(suite.cases)) == ("billing", "atlastel", 2)
    deadline, conversation = suite.cases
    assert deadline.language == "fr" and deadline.tag("topic") == "billing"
    assert deadline.turns[0].expect.actions == {"answer"}
    assert deadline.turns[0].expect.cite == (
        "faq_fr.md#Quand ma facture est-elle émise et jusqu'à quand puis-je la payer ?",
    )
    assert conversation.multi_turn and conversation.language == "darija"
    # A category alone means an escalation to that queue.
    assert conversation.turns[1].expect.actions == {"escalate"}
    assert conversation.turns[1].expect.categories == {"human_request"}


def test_the_reply_language_left_out_follows_the_product_rule_for_the_tenant(
    tmp_path: Path,
) -> None:
    case = {
        "id": "arabizi-1",
        "tags": ["language:arabizi"],
        "turns": [{"text": "kifach nkhelles lfacture?", "expect": {"action": "answer"}}],
    }
    turn = load_suite(write(tmp_path, "s.yaml", one_case_suite(case))).cases[0].turns[0]

    assert turn.expected_reply_language("fr") == "fr"
    assert turn.expected_reply_language("ar") == "ar"


def test_a_turn_in_another_language_keeps_its_own(tmp_path: Path) -> None:
    case = {
        "id": "switch",
        "tags": ["language:en"],
        "turns": [
            {"text": "How do I get an eSIM?"},
            {"text": "merci, et pour le prépayé ?", "language": "fr"},
        ],
    }
    suite = load_suite(write(tmp_path, "s.yaml", one_case_suite(case)))

    assert [turn.language for turn in suite.cases[0].turns] == ["en", "fr"]
    assert suite.cases[0].language == "en"


def test_a_suite_without_tenant_suits_any_tenant(tmp_path: Path) -> None:
    text = "name: any\ncases:\n  - id: a\n    tags: [language:fr]\n    turns: [{text: bonjour}]\n"
    assert load_suite(write(tmp_path, "any.yaml", text)).tenant is None


def test_suite_files_are_a_file_or_the_suites_of_a_folder(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", SUITE_YAML)
    write(tmp_path, "a.jsonl", jsonl_of(yaml.safe_load(SUITE_YAML)))
    write(tmp_path, "notes.txt", "not a suite")

    assert [p.name for p in suite_files(tmp_path)] == ["a.jsonl", "b.yaml"]
    assert suite_files(tmp_path / "b.yaml") == [tmp_path / "b.yaml"]
    with pytest.raises(SuiteError, match=r"notes\.txt: not a suite file"):
        suite_files(tmp_path / "notes.txt")
    with pytest.raises(SuiteError, match="no such file or folder"):
        suite_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="no suite files"):
        suite_files(tmp_path / "empty")


# --- Versions ------------------------------------------------------------------------------


def version_of(tmp_path: Path, document: dict[str, Any], name: str = "s.yaml") -> str:
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=False)
    return load_suite(write(tmp_path, name, text)).version


def test_the_version_is_a_hash_that_only_what_is_judged_changes(tmp_path: Path) -> None:
    document = yaml.safe_load(SUITE_YAML)
    version = load_suite(write(tmp_path, "billing.yaml", SUITE_YAML)).version
    assert len(version) == 12 and int(version, 16) >= 0

    assert version_of(tmp_path, document) == version  # reformatted, keys reordered
    document["description"] = "Reworded."
    document["cases"][0]["description"] = "Why this case exists."
    assert version_of(tmp_path, document) == version

    reworded = yaml.safe_load(SUITE_YAML)
    reworded["cases"][0]["turns"][0]["text"] = "Quelle est la date limite de paiement ?"
    assert version_of(tmp_path, reworded) != version

    stricter = yaml.safe_load(SUITE_YAML)
    stricter["cases"][0]["turns"][0]["expect"]["must_contain"].append("1er")
    assert version_of(tmp_path, stricter) != version


def test_a_written_version_is_used_as_is(tmp_path: Path) -> None:
    document = yaml.safe_load(SUITE_YAML)
    document["version"] = 3
    assert version_of(tmp_path, document) == "3"


# --- Validation ----------------------------------------------------------------------------

BAD_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "typo in a key",
        {"tags": ["language:fr"], "turns": [{"text": "x", "expect": {"must_contian": ["15"]}}]},
        ["turn 1: expect: unknown key 'must_contian' (did you mean 'must_contain'?)"],
    ),
    (
        "unknown category",
        {"tags": ["language:fr"], "turns": [{"text": "x", "expect": {"category": "fraude"}}]},
        ["turn 1: expect.category: 'fraude' is not a category (did you mean 'fraud'?)"],
    ),
    (
        "category without escalation",
        {
            "tags": ["language:fr"],
            "turns": [{"text": "x", "expect": {"action": "answer", "category": "fraud"}}],
        },
        ["turn 1: expect.category: only an escalation has a category"],
    ),
    (
        "cite on a refusal",
        {
            "tags": ["language:fr"],
            "turns": [{"text": "x", "expect": {"action": "refuse", "cite": "faq_fr.md"}}],
        },
        ["turn 1: expect.cite: only an answer is judged on it"],
    ),
    (
        "unknown action",
        {"tags": ["language:fr"], "turns": [{"text": "x", "expect": {"action": "answr"}}]},
        ["turn 1: expect.action[0]: 'answr' is not allowed here"],
    ),
    (
        "unknown reply language",
        {"tags": ["language:fr"], "turns": [{"text": "x", "expect": {"reply_language": "de"}}]},
        ["turn 1: expect.reply_language: 'de' is not allowed here"],
    ),
    (
        "unknown language tag",
        {"tags": ["language:de", "topic:x"], "turns": [{"text": "x"}]},
        ["tags[0]: unknown language 'de'"],
    ),
    (
        "unknown turn language",
        {"tags": ["language:fr"], "turns": [{"text": "x", "language": "kabyle"}]},
        ["turn 1: language: 'kabyle' is not allowed here"],
    ),
    (
        "no language tag",
        {"tags": ["topic:billing"], "turns": [{"text": "x"}]},
        ["tags: exactly one language:<code> tag is required, got none"],
    ),
    (
        "tag without a key",
        {"tags": ["language:fr", "billing"], "turns": [{"text": "x"}]},
        ["tags[1]: 'billing' is not key:value"],
    ),
    ("no turns", {"tags": ["language:fr"], "turns": []}, ["turns: a case needs at least one"]),
    (
        "turn without text",
        {"tags": ["language:fr"], "turns": [{"expect": {"action": "answer"}}]},
        ["turn 1: text: required"],
    ),
    (
        "a boolean where text belongs",
        {"tags": ["language:fr"], "turns": [{"text": False}]},
        ["turn 1: text: expected text, got False (write it in quotes)"],
    ),
    (
        "a turn after an escalation",
        {
            "tags": ["language:fr"],
            "turns": [{"text": "un humain svp", "expect": {"action": "escalate"}}, {"text": "?"}],
        },
        ["turn 2: follows turn 1, which expects an escalation"],
    ),
    (
        "a string both required and forbidden",
        {
            "tags": ["language:fr"],
            "turns": [
                {
                    "text": "x",
                    "expect": {"must_contain": "Échéance", "must_not_contain": "echeance"},
                }
            ],
        },
        ["turn 1: expect.must_not_contain: 'echeance' is also in must_contain"],
    ),
    (
        "a case id with a space",
        {"id": "billing 3", "tags": ["language:fr"], "turns": [{"text": "x"}]},
        ["id: 'billing 3': use letters, digits"],
    ),
]


@pytest.mark.parametrize(
    ("case", "expected"),
    [(case, expected) for _, case, expected in BAD_CASES],
    ids=[name for name, _, _ in BAD_CASES],
)
def test_each_problem_names_the_file_the_case_and_the_field(
    tmp_path: Path, case: dict[str, Any], expected: list[str]
) -> None:
    case = {"id": "billing-03", **case}
    path = write(tmp_path, "faq.yaml", one_case_suite(case))

    message = problems_of(path)

    case_id = case["id"]
    for fragment in expected:
        assert f'{path}:4: case "{case_id}"' in message
        assert fragment in message, message


def test_duplicate_case_ids_and_cases_without_id_are_named(tmp_path: Path) -> None:
    case = {"id": "dup", "tags": ["language:fr"], "turns": [{"text": "x"}]}
    text = yaml.safe_dump(
        {"name": "s", "cases": [case, case, {"tags": ["language:fr"], "turns": [{"text": "y"}]}]}
    )
    message = problems_of(write(tmp_path, "s.yaml", text))

    assert 'case "dup": id: duplicate, already used by case #1' in message
    assert "case #3: id: required" in message


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    document = yaml.safe_load(SUITE_YAML)
    document["tenat"] = "atlastel"
    document["cases"][0]["turns"][0]["expect"]["category"] = "fraude"
    document["cases"][1]["tags"] = ["language:klingon"]

    with pytest.raises(SuiteError) as raised:
        load_suite(write(tmp_path, "s.yaml", yaml.safe_dump(document, allow_unicode=True)))

    problems = raised.value.problems
    assert len(problems) == 4
    assert "unknown key 'tenat' (did you mean 'tenant'?)" in problems[0]
    assert 'case "deadline-fr" turn 1: expect.category: only an escalation' in problems[1]
    assert "case \"deadline-fr\" turn 1: expect.category: 'fraude'" in problems[2]
    assert 'case "conv-darija": tags[0]' in problems[3]


def test_a_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    broken = SUITE_YAML.replace('"topic:plans"]', '"topic:plans"')
    message = problems_of(write(tmp_path, "s.yaml", broken))
    assert message.startswith(f"{tmp_path / 's.yaml'}:17: invalid YAML (column 5)")


def test_a_key_written_twice_is_refused(tmp_path: Path) -> None:
    twice = SUITE_YAML.replace("          action: answer\n", "          action: answer\n" * 2)
    message = problems_of(write(tmp_path, "s.yaml", twice))
    assert "s.yaml:11: invalid YAML" in message
    assert "key 'action' written twice" in message


def test_jsonl_problems_give_the_line(tmp_path: Path) -> None:
    lines = jsonl_of(yaml.safe_load(SUITE_YAML)).splitlines()
    case = json.loads(lines[2])
    case["turns"][1]["expect"]["category"] = "fraude"
    broken = [lines[0], "{not json", json.dumps(case, ensure_ascii=False)]
    assert ":2: invalid JSON" in problems_of(write(tmp_path, "s.jsonl", "\n".join(broken)))

    wrong_category = [lines[0], lines[1], json.dumps(case, ensure_ascii=False)]
    message = problems_of(write(tmp_path, "s.jsonl", "\n".join(wrong_category)))
    assert 's.jsonl:3: case "conv-darija" turn 2: expect.category' in message

    headless = "\n".join(lines[1:])
    assert "the first line must be the suite header" in problems_of(
        write(tmp_path, "s.jsonl", headless)
    )


# --- How replies are judged ----------------------------------------------------------------


def test_contains_ignores_case_accents_arabic_variants_and_spacing() -> None:
    assert contains("Réponse sous 15 JOURS ouvrables.", "15 jours ouvrables")
    assert contains("La date d'échéance", "ECHEANCE")
    assert contains("الرد داخل أجل ١٥ يوما", "اجل 15 يوما")
    assert contains("Temps :\u00a0 5\nminutes", "temps : 5 minutes")
    assert not contains("4539148803436467", "4539 1488 0343 6467")


def test_a_cite_names_a_document_an_entry_or_a_chunk() -> None:
    citation = Citation(
        source="faq_fr.md",
        title="Comment recharger ma ligne prépayée ?",
        chunk_id="0a1b2c3d4e5f-0003-9f8e7d6c",
        score=0.8,
    )
    assert cites(citation, "faq_fr.md")
    assert cites(citation, "faq_fr.md#Comment recharger ma ligne prépayée ?")
    assert cites(citation, "FAQ_FR.md#comment recharger ma ligne prepayee ?")
    assert cites(citation, "0a1b2c3d4e5f-0003-9f8e7d6c")
    assert not cites(citation, "faq_ar.csv")
    assert not cites(citation, "faq_fr.md#Comment consulter mon solde et ma consommation ?")


# --- The sample suites ---------------------------------------------------------------------


def tenant_suites(tenant: str) -> list[Suite]:
    return [load_suite(path) for path in suite_files(SAMPLES / tenant / "eval")]


@pytest.fixture(scope="module")
def samples() -> dict[str, list[Suite]]:
    return {tenant: tenant_suites(tenant) for tenant in TENANTS}


@pytest.mark.parametrize("tenant", TENANTS)
def test_each_sample_tenant_has_enough_cases_and_conversations(
    samples: dict[str, list[Suite]], tenant: str
) -> None:
    cases = [case for suite in samples[tenant] for case in suite.cases]
    assert all(suite.tenant == tenant for suite in samples[tenant])
    assert len(cases) >= 150
    assert sum(case.multi_turn for case in cases) >= 20
    assert len({case.id for case in cases}) == len(cases)


@pytest.mark.parametrize("tenant", TENANTS)
def test_the_sample_languages_follow_the_documented_shares(
    samples: dict[str, list[Suite]], tenant: str
) -> None:
    cases = [case for suite in samples[tenant] for case in suite.cases]
    counts = Counter[str](case.language for case in cases)
    shares = {language: counts[language] / len(cases) for language in LANGUAGE_SHARES}
    for language, share in LANGUAGE_SHARES.items():
        assert abs(shares[language] - share) <= SHARE_TOLERANCE, shares


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_escalation_category_is_exercised_and_real(
    samples: dict[str, list[Suite]], tenant: str
) -> None:
    expected = {
        category
        for suite in samples[tenant]
        for case in suite.cases
        for turn in case.turns
        for category in turn.expect.categories
    }
    assert expected == set(CATEGORIES)


@pytest.mark.parametrize("tenant", TENANTS)
def test_the_sample_reply_languages_follow_the_tenant_rule(
    samples: dict[str, list[Suite]], tenant: str
) -> None:
    config = yaml.safe_load((SAMPLES / tenant / "tenant.yaml").read_text(encoding="utf-8"))
    arabizi = config["arabizi_reply_language"]
    for case in (case for suite in samples[tenant] for case in suite.cases):
        for turn in case.turns:
            assert turn.expect.reply_language is not None, case.id
            assert turn.expect.reply_language == reply_language(turn.language, arabizi), case.id


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_sample_cite_names_a_document_and_entry_of_the_tenant_kb(
    samples: dict[str, list[Suite]], tenant: str
) -> None:
    kb = SAMPLES / tenant / "kb"
    titles: dict[str, set[str]] = {}
    for path in sorted(kb.iterdir()):
        document = load_document(path, path.name)
        titles[path.name] = {section.title for section in document.sections if section.title}
    cited = Counter[str]()
    for case in (case for suite in samples[tenant] for case in suite.cases):
        for turn in case.turns:
            for item in turn.expect.cite:
                source, _, title = item.partition("#")
                assert source in titles, f"{case.id}: no document {source} in {kb}"
                assert not title or title in titles[source], f"{case.id}: no entry {item!r}"
                cited[source] += 1
    assert set(cited) == set(titles), "every document of the KB is cited somewhere"


def test_the_red_team_suite_covers_every_attack_in_the_customers_languages() -> None:
    suite = load_suite(SAMPLES / "redteam.yaml")

    assert suite.tenant is None
    assert len(suite.cases) >= 40
    topics = Counter(case.tag("topic") for case in suite.cases)
    attacks = {"prompt_injection", "prompt_extraction", "off_topic", "card_data", "abuse"}
    assert attacks <= set(topics)
    for attack in attacks:
        languages = {case.language for case in suite.cases if case.tag("topic") == attack}
        assert {"fr", "ar", "darija"} <= languages, attack
    assert {case.language for case in suite.cases} >= {"fr", "ar", "darija", "arabizi"}
    card_cases = [case for case in suite.cases if case.tag("topic") == "card_data"]
    for case in card_cases:
        assert case.turns[0].expect.redactions and case.turns[0].expect.must_not_contain
