"""What ``make run`` does: load the sample tenants and hand out working demo credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.wiring import Container
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_demo_loads_both_sample_tenants_and_restarting_reissues_credentials(
    container: Container,
) -> None:
    folders = sample_tenant_dirs(REPO / "samples")
    assert [f.name for f in folders] == ["atlastel", "yusr"]

    first = [load_sample_tenant(container, f) for f in folders]
    again = [load_sample_tenant(container, f) for f in folders]

    client = TestClient(create_app(container))
    for before, after in zip(first, again, strict=True):
        assert before.report.skipped == []
        assert before.report.files_added == 4
        assert after.report.files_unchanged == 4 and after.report.chunks_added == 0
        assert after.publishable_key == before.publishable_key
        old = client.post(
            "/v1/kb/search",
            json={"query": "horaires"},
            headers={"Authorization": f"Bearer {before.admin_token}"},
        )
        new = client.post(
            "/v1/kb/search",
            json={"query": "horaires"},
            headers={"Authorization": f"Bearer {after.admin_token}"},
        )
        assert old.status_code == 401
        assert new.status_code == 200
        assert {r["source"] for r in new.json()["results"]} <= {
            p.name for p in (REPO / "samples" / after.name / "kb").iterdir()
        }


def test_a_darija_customer_asking_how_to_pay_gets_the_arabic_payment_answer_first(
    container: Container,
) -> None:
    tenant = load_sample_tenant(container, REPO / "samples" / "atlastel").name

    hits = container.retriever(tenant).search("كيفاش نخلص الفاتورة ديالي؟", 3)

    assert (hits[0].source, hits[0].title) == ("faq_ar.csv", "ما هي طرق أداء الفاتورة؟")
    assert ("faq_fr.md", "Quels sont les moyens de paiement acceptés pour ma facture ?") in {
        (h.source, h.title) for h in hits
    }


def test_samples_folder_without_tenants_is_empty(tmp_path: Path) -> None:
    assert sample_tenant_dirs(tmp_path) == []
