"""Loading the sample tenants of ``samples/`` for ``make run`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from api.tenants import TenantError
from knowledge_base.ingest import IngestReport, ingest
from rafiq.wiring import Container

DEMO_USER = "demo-admin"
DEMO_ADVISER = "demo-adviser"
DEMO_USERS = (DEMO_USER, DEMO_ADVISER)


@dataclass(frozen=True)
class DemoTenant:
    name: str
    display_name: str
    publishable_key: str
    admin_token: str
    adviser_token: str
    report: IngestReport


def sample_tenant_dirs(samples_dir: Path) -> list[Path]:
    return sorted(p.parent for p in samples_dir.glob("*/tenant.yaml"))


def load_sample_tenant(container: Container, folder: Path) -> DemoTenant:
    config = yaml.safe_load((folder / "tenant.yaml").read_text(encoding="utf-8")) or {}
    name = str(config.get("name") or folder.name)
    display_name = str(config.get("display_name") or name)
    try:
        tenant = container.tenants.get(name)
    except TenantError:
        tenant, _ = container.tenants.create(name, display_name)
    policy_file = folder / "escalation_policy.yaml"
    container.tenants.update_settings(
        name,
        arabizi_reply_language=config.get("arabizi_reply_language", "fr"),
        secure_payment_url=config.get("secure_payment_url"),
        escalation_policy=policy_file.read_text(encoding="utf-8")
        if policy_file.is_file()
        else None,
    )
    # Demo credentials are re-issued on each start: the old ones stop working.
    for user in DEMO_USERS:
        container.tenants.revoke_users_named(name, user)
    token = container.tenants.create_user(name, "admin", DEMO_USER).token
    adviser = container.tenants.create_user(name, "adviser", DEMO_ADVISER).token
    report = ingest(container.store(name), [folder / "kb"], container.ingest_options(prune=True))
    return DemoTenant(name, display_name, tenant.publishable_key, token, adviser, report)
