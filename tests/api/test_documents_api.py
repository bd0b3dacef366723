"""An admin manages the tenant's knowledge base over HTTP: list, upload, remove."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.models import AuditEventRow
from rafiq.wiring import Container

FAQ_MD = (
    "# Facturation\n\n"
    "## Comment payer ma facture ?\n"
    "Payez dans l'application Atlas&Moi, en agence ou par virement.\n\n"
    "## Quels sont les horaires des agences ?\n"
    "Du lundi au samedi, de 9 h à 18 h.\n"
)
FAQ_CSV = (
    "question,answer,category,language\n"
    '"كيف أؤدي فاتورتي؟","يمكنكم أداء الفاتورة عبر التطبيق أو في الوكالة.",billing,ar\n'
)
FileSpec = tuple[str, bytes]


@dataclass
class Admin:
    client: TestClient
    token: str
    container: Container

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def upload(self, *files: FileSpec) -> list[dict[str, Any]]:
        response = self.client.post(
            "/v1/kb/documents",
            files=[("files", (name, data, "application/octet-stream")) for name, data in files],
            headers=self.auth,
        )
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()["files"]
        return result

    def documents(self, token: str | None = None) -> dict[str, dict[str, Any]]:
        response = self.client.get(
            "/v1/kb/documents", headers={"Authorization": f"Bearer {token or self.token}"}
        )
        assert response.status_code == 200, response.text
        return {d["source"]: d for d in response.json()["documents"]}

    def search(self, query: str) -> list[dict[str, Any]]:
        response = self.client.post(
            "/v1/kb/search", json={"query": query, "k": 5}, headers=self.auth
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results


def _admin(container: Container, **settings: Any) -> Admin:
    """Settings are changed before the app exists: the API reads its limits once."""
    container.settings = container.settings.model_copy(update=settings)
    _, admin = container.tenants.create("acme")
    return Admin(TestClient(create_app(container)), admin.token, container)


@pytest.fixture
def admin(container: Container) -> Admin:
    return _admin(container)


def _by_file(report: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["file"]: f for f in report}


def test_uploaded_markdown_and_csv_faqs_are_listed_and_searchable(admin: Admin) -> None:
    report = _by_file(admin.upload(("faq.md", FAQ_MD.encode()), ("faq_ar.csv", FAQ_CSV.encode())))

    assert report["faq.md"]["status"] == "added"
    assert report["faq.md"]["chunks"] == 2
    assert report["faq_ar.csv"]["status"] == "added"
    documents = admin.documents()
    assert set(documents) == {"faq.md", "faq_ar.csv"}
    assert documents["faq.md"]["language"] == "fr"
    assert documents["faq.md"]["title"] == "Facturation"
    assert documents["faq.md"]["chunks"] == 2
    assert documents["faq.md"]["content_hash"]
    assert documents["faq.md"]["ingested_at"]
    assert documents["faq_ar.csv"]["language"] == "ar"
    assert admin.search("horaires des agences")[0]["source"] == "faq.md"
    assert admin.search("كيف أؤدي فاتورتي")[0]["source"] == "faq_ar.csv"


def test_an_unchanged_file_is_left_alone_and_a_changed_one_replaces_its_chunks(
    admin: Admin,
) -> None:
    admin.upload(("faq.md", FAQ_MD.encode()), ("faq_ar.csv", FAQ_CSV.encode()))
    first = admin.documents()

    again = _by_file(admin.upload(("faq.md", FAQ_MD.encode())))
    assert again["faq.md"]["status"] == "unchanged"
    assert admin.documents()["faq.md"] == first["faq.md"]

    changed = FAQ_MD.replace("de 9 h à 18 h", "de 8 h 30 à 17 h")
    updated = _by_file(admin.upload(("faq.md", changed.encode())))

    assert updated["faq.md"]["status"] == "updated"
    assert admin.documents()["faq.md"]["content_hash"] != first["faq.md"]["content_hash"]
    texts = [r["text"] for r in admin.search("horaires des agences") if r["source"] == "faq.md"]
    assert any("8 h 30" in t for t in texts)
    assert not any("de 9 h à 18 h" in t for t in texts)
    assert admin.documents()["faq_ar.csv"] == first["faq_ar.csv"]


def test_bad_files_are_skipped_with_their_reason_and_the_others_still_go_in(
    container: Container,
) -> None:
    admin = _admin(container, max_file_bytes=4000)

    report = _by_file(
        admin.upload(
            ("broken.pdf", b"%PDF-1.4 truncated before any object"),
            ("setup.exe", b"MZ\x90\x00\x03"),
            ("faq.md", FAQ_MD.encode()),
            ("notes.txt", b"\xef\xbb\xbfCafe \xff\xfe broken"),
            ("huge.txt", b"facture " * 1000),
            ("faq_ar.csv", FAQ_CSV.encode()),
        )
    )

    reasons = {name: f["reason"] for name, f in report.items() if f["status"] == "skipped"}
    assert set(reasons) == {"broken.pdf", "setup.exe", "notes.txt", "huge.txt"}
    assert "corrupt PDF" in reasons["broken.pdf"]
    assert reasons["setup.exe"] == "unsupported file type .exe"
    assert "UTF-8" in reasons["notes.txt"]
    assert "too large" in reasons["huge.txt"]
    assert report["faq.md"]["status"] == report["faq_ar.csv"]["status"] == "added"
    assert set(admin.documents()) == {"faq.md", "faq_ar.csv"}


def test_file_names_lose_any_folder_and_nothing_is_written_outside_the_data_dir(
    admin: Admin, rafiq_env: Path
) -> None:
    report = admin.upload(
        ("../../etc/passwd.md", FAQ_MD.encode()),
        ("..\\..\\windows\\faq_ar.csv", FAQ_CSV.encode()),
        ("../", b"# x\n\ny\n"),
    )

    assert [(f["source"], f["status"]) for f in report] == [
        ("passwd.md", "added"),
        ("faq_ar.csv", "added"),
        (None, "skipped"),
    ]
    assert report[2]["reason"] == "no usable file name"
    assert set(admin.documents()) == {"passwd.md", "faq_ar.csv"}
    assert not (rafiq_env.parent / "etc").exists()
    assert not (rafiq_env / "etc").exists()
    assert list((rafiq_env / "uploads").iterdir()) == []


def test_a_file_name_given_twice_in_one_upload_is_ingested_once(admin: Admin) -> None:
    report = admin.upload(("faq.md", FAQ_MD.encode()), ("docs/faq.md", b"# Autre\n\ntexte\n"))

    assert [f["status"] for f in report] == ["added", "skipped"]
    assert "earlier in this upload" in report[1]["reason"]
    assert admin.documents()["faq.md"]["title"] == "Facturation"


def test_a_deleted_document_disappears_from_search(admin: Admin) -> None:
    admin.upload(("faq.md", FAQ_MD.encode()), ("faq_ar.csv", FAQ_CSV.encode()))
    assert "faq.md" in {r["source"] for r in admin.search("horaires des agences")}

    deleted = admin.client.delete("/v1/kb/documents/faq.md", headers=admin.auth)

    assert deleted.status_code == 204
    assert "faq.md" not in {r["source"] for r in admin.search("horaires des agences")}
    assert set(admin.documents()) == {"faq_ar.csv"}
    again = admin.client.delete("/v1/kb/documents/faq.md", headers=admin.auth)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"


def test_uploads_and_deletions_are_audited(admin: Admin) -> None:
    admin.upload(("faq.md", FAQ_MD.encode()), ("setup.exe", b"MZ"))
    admin.client.delete("/v1/kb/documents/faq.md", headers=admin.auth)

    with admin.container.sessions() as session:
        events = session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)).all()
        trail = [(e.tenant, e.action, e.subject, e.detail) for e in events]
    assert trail[-2:] == [
        ("acme", "kb.documents.ingested", "acme", {"added": ["faq.md"], "updated": []}),
        ("acme", "kb.document.deleted", "faq.md", {}),
    ]
    assert all(e.actor.startswith("staff:u_") for e in events[-2:])


def test_another_tenants_admin_can_neither_see_nor_delete_our_documents(admin: Admin) -> None:
    admin.upload(("faq.md", FAQ_MD.encode()))
    _, other = admin.container.tenants.create("globex")

    listed = admin.documents(token=other.token)
    deleted = admin.client.delete(
        "/v1/kb/documents/faq.md", headers={"Authorization": f"Bearer {other.token}"}
    )

    assert listed == {}
    assert deleted.status_code == 404
    assert set(admin.documents()) == {"faq.md"}


def test_an_adviser_cannot_manage_documents(admin: Admin) -> None:
    admin.upload(("faq.md", FAQ_MD.encode()))
    adviser = admin.container.tenants.create_user("acme", "adviser", "Salma").token
    auth = {"Authorization": f"Bearer {adviser}"}

    responses = [
        admin.client.get("/v1/kb/documents", headers=auth),
        admin.client.post(
            "/v1/kb/documents", files=[("files", ("x.md", b"# x\n\ny\n"))], headers=auth
        ),
        admin.client.delete("/v1/kb/documents/faq.md", headers=auth),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert all(r.json()["error"]["code"] == "forbidden" for r in responses)
    assert set(admin.documents()) == {"faq.md"}


def test_uploads_have_their_own_body_limit_and_json_routes_keep_the_small_one(
    container: Container,
) -> None:
    admin = _admin(container, max_body_bytes=64_000, max_upload_bytes=200_000)
    padding = b"MZ" + b"\x00" * 100_000

    within = admin.upload(("big.exe", padding))
    too_big = admin.client.post(
        "/v1/kb/documents",
        files=[("files", ("bigger.exe", padding * 3, "application/octet-stream"))],
        headers=admin.auth,
    )
    json_route = admin.client.post(
        "/v1/kb/search", json={"query": "x" * 100_000}, headers=admin.auth
    )

    assert within[0]["status"] == "skipped"
    assert too_big.status_code == 413
    assert too_big.json()["error"]["message"] == "request body larger than 200000 bytes"
    assert json_route.status_code == 413
    assert json_route.json()["error"]["message"] == "request body larger than 64000 bytes"


def test_an_upload_without_files_is_a_422(admin: Admin) -> None:
    response = admin.client.post("/v1/kb/documents", data={"x": "y"}, headers=admin.auth)

    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("files")
