"""A client from a sector the policy was not written for, with no policy of its own: its
customers' sensitive messages reach the right adviser queue and its ordinary ones do not.

The messages are the ones a new user reported on a bank and a water utility (issue 14);
the FAQs are written here, in the way such clients write them.
"""

from __future__ import annotations

import pytest

from agent.result import TurnResult
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.rafiq.conftest import load_tenant

BANK_FAQ = """# Banque Test — FAQ

## Comment ouvrir un compte courant ?
Présentez votre CIN et un justificatif de domicile en agence.

## Quels sont les frais de tenue de compte ?
La tenue de compte coûte 15 DH par mois.

## Comment activer ma carte bancaire ?
Faites un premier retrait au guichet automatique avec votre code.

## Comment faire un virement depuis l'application ?
Menu Virements, choisissez le bénéficiaire et confirmez par le code reçu par SMS.

## Quels sont les horaires des agences ?
Du lundi au vendredi, de 8 h 30 à 16 h 30.
"""

WATER_FAQ = """# Régie Test — FAQ

## Comment payer ma facture d'eau ?
En agence, au guichet automatique ou dans l'application, avec votre numéro de contrat.

## Comment relever mon compteur ?
Le compteur se trouve à l'entrée du logement ; notez les chiffres noirs.

## Comment demander un branchement ?
Déposez une demande en agence avec le titre de propriété.

## Quels sont les horaires des agences ?
Du lundi au vendredi, de 8 h à 16 h.
"""


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Container:
    """One bank and one water utility, each with only its FAQ, loaded once for the module."""
    root = tmp_path_factory.mktemp("new-sector")
    built = Container(
        Settings(
            data_dir=root / "var",
            database_url=None,
            chroma_url=None,
            llm_base_url=None,
            eval_judge_base_url=None,
        )
    )
    for name, faq in (("banque", BANK_FAQ), ("regie", WATER_FAQ)):
        kb = root / name
        kb.mkdir()
        (kb / "faq.md").write_text(faq, encoding="utf-8")
        load_tenant(built, name, kb)
    return built


def category(result: TurnResult) -> str | None:
    return result.escalation.category if result.escalation else None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("شي واحد كيخدم بالكارط ديالي فالأنترنيت، كيفاش نبلوكيها؟", "fraud"),
        ("ما متأكدش، ولكن يمكن شي حد خدم بالكارط ديالي", "fraud"),
        ("3afak bghit n7yed l compte dyali nhaiyan", ("cancellation", "data_protection")),
        ("I see a payment of 2300 dirhams on my account that I never made", "fraud"),
    ],
)
def test_a_bank_customer_reaches_the_right_queue(
    container: Container, message: str, expected: str | tuple[str, ...]
) -> None:
    result = _ask(container, "banque", message)
    assert result.action == "escalate", result.text
    # Closing one's account is a cancellation, deleting it may be a data request: both
    # queues can serve the customer.
    assert category(result) in ((expected,) if isinstance(expected, str) else expected)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "On m'a coupé l'eau alors que j'ai payé ma facture la semaine dernière",
            "service_anomaly",
        ),
        (
            "Mon mari a perdu son travail, on n'a plus aucun revenu et on a trois enfants, "
            "s'il vous plaît ne coupez pas l'eau",
            "vulnerability",
        ),
        ("الفاتورة ديال الما طالعة بزاف، كاين شي غلط فيها", "billing_anomaly"),
    ],
)
def test_a_water_customer_reaches_the_right_queue(
    container: Container, message: str, expected: str
) -> None:
    result = _ask(container, "regie", message)
    assert result.action == "escalate", result.text
    assert category(result) == expected


@pytest.mark.parametrize(
    ("tenant", "message"),
    [
        ("regie", "Comment payer ma facture d'eau ?"),
        ("regie", "Quels sont les horaires des agences ?"),
        ("banque", "Comment faire un virement depuis l'application ?"),
        ("banque", "Quels sont les frais de tenue de compte ?"),
    ],
)
def test_ordinary_questions_of_the_new_sector_are_not_escalated(
    container: Container, tenant: str, message: str
) -> None:
    assert _ask(container, tenant, message).action != "escalate"


def _ask(container: Container, tenant_name: str, text: str) -> TurnResult:
    result = container.agent.turn(tenant_name, text, None)
    assert isinstance(result, TurnResult)
    return result
