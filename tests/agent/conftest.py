"""A small bilingual tenant for agent scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.ingest import ingest
from rafiq.wiring import Container

FAQ_FR = """# Agences

## Quels sont les horaires des agences ?
Nos agences sont ouvertes du lundi au vendredi de 9 h à 18 h.

## Les agences sont-elles ouvertes le samedi ?
Le samedi, les agences ouvrent de 9 h à 13 h. Elles sont fermées le dimanche.

# Paiement

## Quels sont les moyens de paiement de la facture ?
Payez par carte bancaire dans l'application, en espèces en agence ou par prélèvement.
"""

FAQ_AR = (
    "question,answer,category,language\n"
    '"ما هي طرق أداء الفاتورة؟",'
    '"يمكنكم أداء الفاتورة بالبطاقة البنكية عبر التطبيق أو نقدا في الوكالة.",billing,ar\n'
)


@pytest.fixture
def agent_tenant(container: Container, tmp_path: Path) -> str:
    kb = tmp_path / "acme-kb"
    kb.mkdir()
    (kb / "faq_fr.md").write_text(FAQ_FR, encoding="utf-8")
    (kb / "faq_ar.csv").write_text(FAQ_AR, encoding="utf-8")
    container.tenants.create("acme", "Acme Télécom")
    container.tenants.update_settings(
        "acme", secure_payment_url="https://pay.acme.example", arabizi_reply_language="fr"
    )
    ingest(container.store("acme"), [kb], container.ingest_options())
    return "acme"
