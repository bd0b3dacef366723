"""Escalation policy merging and extractive triage, on a small policy written here."""

from __future__ import annotations

import pytest

from agent.policy import PolicyError, default_policy, parse_policy
from agent.result import CATEGORIES
from agent.triage import Triage, amounts_in
from knowledge_base.embeddings import Embedder, create_embedder

BASE = """
version: 1
categories:
  human_request:
    priority: normal
    hard_rule: true
    keywords: {fr: ["parler a un conseiller"], darija: ["بغيت نهضر مع شي واحد"]}
    examples: {fr: ["je veux un humain s'il vous plait"]}
  fraud:
    priority: urgent
    hard_rule: true
    keywords: {fr: ["carte volee"], ar: ["احتيال"]}
    examples: {fr: ["quelqu'un a utilisé ma carte sans mon accord"]}
  billing_anomaly:
    priority: normal
    keywords: {fr: ["preleve deux fois"]}
    examples:
      fr: ["ma facture est beaucoup trop élevée ce mois-ci, ce n'est pas normal"]
      en: ["I was charged twice for the same bill"]
  complaint:
    priority: normal
    examples: {fr: ["je suis très mécontent de votre service et je veux une réparation"]}
rules:
  - name: big
    when: {category: billing_anomaly, amount_at_least_dh: 1000}
    then: {priority: high}
"""

ORDINARY = ["Comment payer ma facture ?", "Quels sont les horaires des agences ?"]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return create_embedder("use-multilingual")


@pytest.fixture(scope="module")
def triage(embedder: Embedder) -> Triage:
    # Keywords and examples alone: test_triage_learned covers the learned layer.
    return Triage(parse_policy(BASE, "base"), embedder, ORDINARY, learned=False)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Bonjour, je veux PARLER À UN CONSEILLER svp", "human_request"),
        ("بغيت نهضر مع شي واحد عافاك", "human_request"),
        ("ma carte volée hier soir !!", "fraud"),
        ("تعرضت لعملية والاحتيال", "fraud"),
        ("on m'a prélevé deux fois ce mois", "billing_anomaly"),
    ],
)
def test_keywords_escalate_whatever_the_case_accents_and_arabic_clitics(
    triage: Triage, text: str, category: str
) -> None:
    decision = triage.classify(text)
    assert decision is not None and decision.category == category
    assert decision.evidence.startswith("keyword")


def test_safety_categories_win_when_several_match(triage: Triage) -> None:
    decision = triage.classify(
        "carte volée et on m'a prélevé deux fois, je veux parler a un conseiller"
    )
    assert decision is not None
    assert (decision.category, decision.priority, decision.hard_rule) == ("fraud", "urgent", True)


def test_similarity_to_examples_escalates_paraphrases(triage: Triage) -> None:
    decision = triage.classify("you charged me two times for one invoice")
    assert decision is not None and decision.category == "billing_anomaly"
    assert decision.evidence.startswith("close to example")


@pytest.mark.parametrize("text", ["comment je peux payer la facture ?", "horaires agence casa ?"])
def test_ordinary_requests_close_to_faq_questions_are_not_escalated(
    triage: Triage, text: str
) -> None:
    assert triage.classify(text) is None


def test_amount_rule_raises_priority(triage: Triage) -> None:
    small = triage.classify("prélevé deux fois 200 DH")
    large = triage.classify("prélevé deux fois, 1 800 DH au lieu de 300 dh")
    assert small is not None and small.priority == "normal"
    assert large is not None and large.priority == "high"


@pytest.mark.parametrize(
    ("text", "amounts"),
    [("1 800 DH", [1800.0]), ("2.500,50 MAD", [2500.5]), ("دفعت 300 درهم", [300.0]), ("no", [])],
)
def test_amounts_are_read_in_dirhams(text: str, amounts: list[float]) -> None:
    assert amounts_in(text) == amounts


def test_a_tenant_policy_extends_the_default(embedder: Embedder) -> None:
    base = parse_policy(BASE, "base")
    tenant = parse_policy(
        """
categories:
  complaint: {priority: high, keywords: {fr: ["je porte plainte"]}}
  roaming_issue:
    priority: normal
    keywords: {fr: ["roaming ne marche pas"]}
""",
        "tenant",
        base,
    )
    assert tenant.categories["complaint"].priority == "high"
    assert tenant.categories["complaint"].examples == base.categories["complaint"].examples
    decision = Triage(tenant, embedder, ORDINARY).classify("mon roaming ne marche pas au Maroc")
    assert decision is not None and decision.category == "roaming_issue"


def test_a_tenant_cannot_disable_a_hard_rule() -> None:
    with pytest.raises(PolicyError, match="hard rule"):
        parse_policy("categories: {fraud: {enabled: false}}", "tenant", parse_policy(BASE, "b"))


def test_a_disabled_category_no_longer_escalates(embedder: Embedder) -> None:
    policy = parse_policy(
        "categories: {billing_anomaly: {enabled: false}}", "tenant", parse_policy(BASE, "b")
    )
    assert Triage(policy, embedder, ORDINARY).classify("on m'a prélevé deux fois") is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("categories: {x: {keywords: {fr: [a]}}}", "needs a priority"),
        ("categories: {x: {priority: critical}}", "priority must be"),
        ("categories: {x: {priority: low, keywords: {fr: 3}}}", "list of strings"),
        ("rules: [{when: {}}]", "when.category"),
        ("categories: [", "invalid YAML"),
    ],
)
def test_bad_policy_files_name_the_field(text: str, error: str) -> None:
    with pytest.raises(PolicyError, match=error):
        parse_policy(text, "acme.yaml")


def test_rules_with_conditions_the_engine_cannot_check_never_fire(embedder: Embedder) -> None:
    policy = parse_policy(
        """
rules:
  - name: repeated
    when: {category: complaint, contacts_at_least: 3, within_days: 7}
    then: {priority: urgent}
""",
        "tenant",
        parse_policy(BASE, "base"),
    )
    decision = Triage(policy, embedder, ORDINARY).classify(
        "je suis très mécontent de votre service et je veux une réparation"
    )
    assert decision is not None and decision.category == "complaint"
    assert decision.priority == "normal"


def test_a_tenant_rule_replaces_the_default_rule_of_the_same_name() -> None:
    policy = parse_policy(
        "rules: [{name: big, when: {category: billing_anomaly, amount_at_least_dh: 5000}, "
        "then: {priority: urgent}}]",
        "tenant",
        parse_policy(BASE, "base"),
    )
    assert [(r.name, r.amount_at_least_dh) for r in policy.rules] == [("big", 5000.0)]


def test_a_hard_rule_priority_can_be_raised_but_not_lowered() -> None:
    base = parse_policy(BASE, "base")
    raised = parse_policy("categories: {human_request: {priority: high}}", "t", base)
    assert raised.categories["human_request"].priority == "high"
    with pytest.raises(PolicyError, match="only be raised"):
        parse_policy("categories: {fraud: {priority: low}}", "t", base)


@pytest.fixture(scope="module")
def default_triage(embedder: Embedder) -> Triage:
    return Triage(default_policy(), embedder, ORDINARY)


def test_a_customer_who_cannot_pay_and_sees_no_way_out_reaches_the_distress_queue(
    default_triage: Triage,
) -> None:
    # "je n'ai pas les moyens" is a payment-difficulty keyword; the rest is distress.
    decision = default_triage.classify(
        "je n'ai pas les moyens de payer, honnêtement je suis à bout, "
        "je vois plus l'intérêt de continuer"
    )
    assert decision is not None
    assert (decision.category, decision.priority) == ("distress", "urgent")


@pytest.mark.parametrize(
    "text",
    [
        "والله ما بقيت عارف اش ندير، الله يرحمني",
        "راني حاطة الدوا قدامي وما عرفتش واش نشربو كامل",
        "rani 7atta dwa 9dami w ma 3reftch wach nchrbo kaml",
        "وضعت الأدوية أمامي ولا أعرف هل أبتلعها كلها",
        "j'ai les médicaments devant moi et je me demande si je prends toute la boîte",
        "I've got the pills in front of me and I'm wondering whether to take them all",
    ],
)
def test_indirect_distress_without_a_keyword_reaches_the_distress_queue(
    default_triage: Triage, text: str
) -> None:
    # Guards the ordinary examples too: one that sounds like these (a curse invoking God,
    # "الله ياخد فيك الحق") would hide them behind the margin.
    decision = default_triage.classify(text)
    assert decision is not None and decision.category == "distress"
    assert not decision.evidence.startswith("keyword")  # the meaning, no keyword


def test_a_customer_who_cannot_pay_this_month_stays_in_payment_difficulty(
    default_triage: Triage,
) -> None:
    decision = default_triage.classify(
        "je n'ai pas les moyens de payer ce mois, je peux payer en deux fois ?"
    )
    assert decision is not None and decision.category == "payment_difficulty"


@pytest.mark.parametrize(
    "text", ["nta robot mkellekh, ma katfhem walo", "this chatbot is so dumb, it keeps repeating"]
)
def test_an_insult_to_the_bot_that_asks_for_nothing_is_not_a_request_for_a_human(
    default_triage: Triage, text: str
) -> None:
    # Screening answers it with a warning; a hard-rule decision would override that.
    assert default_triage.classify(text) is None


def test_the_default_policy_covers_every_contract_category() -> None:
    policy = default_policy()
    assert set(CATEGORIES) <= set(policy.categories)
    hard = {c.name for c in policy.categories.values() if c.hard_rule}
    assert {"human_request", "fraud", "distress", "vulnerability"} <= hard
