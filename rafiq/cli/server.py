"""``rafiq serve`` and ``rafiq demo``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from api.app import create_app
from api.logs import configure_logging
from rafiq.cli.output import container
from rafiq.demo import DEMO_USERS, DemoTenant, load_sample_tenant, sample_tenant_dirs
from rafiq.settings import InsecureSettingsError
from rafiq.wiring import Container

HostOption = Annotated[str | None, typer.Option("--host", help="Default: RAFIQ_HOST (127.0.0.1).")]
PortOption = Annotated[int | None, typer.Option("--port", help="Default: RAFIQ_PORT (8000).")]


def _run(host: str | None, port: int | None) -> None:
    c = container()
    _refuse_insecure_production(c)
    # Structured JSON lines with PII scrubbed; uvicorn's own access log is replaced by ours.
    configure_logging("INFO", json_format=True)
    uvicorn.run(
        create_app(c),
        host=host or c.settings.host,
        port=port or c.settings.port,
        log_config=None,
        access_log=False,
    )


def _refuse_insecure_production(c: Container) -> None:
    c.settings.check_production()
    if c.settings.env == "production":
        demo = sum(c.tenants.active_users_named(name) for name in DEMO_USERS)
        if demo:
            raise InsecureSettingsError(
                f"{demo} demo staff token(s) are still valid: revoke them "
                "(they were printed by `rafiq demo`) before serving in production"
            )


def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Start the HTTP API."""
    _run(host, port)


def demo(
    host: HostOption = None,
    port: PortOption = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Load the samples and print credentials only.")
    ] = False,
) -> None:
    """Load the sample tenants, print demo credentials, start the server."""
    c = container()
    if c.settings.env == "production":
        raise InsecureSettingsError("`rafiq demo` issues demo credentials: never in production")
    folders = sample_tenant_dirs(c.settings.samples_dir)
    if not folders:
        raise typer.BadParameter(f"no sample tenant under {c.settings.samples_dir}")
    base = f"http://{host or c.settings.host}:{port or c.settings.port}"
    typer.echo("Loading sample tenants…")
    tenants = [load_sample_tenant(c, folder) for folder in folders]
    typer.echo("")
    typer.echo(f"Rafiq demo — API {base}  ·  OpenAPI {base}/docs  ·  health {base}/healthz")
    typer.echo(f"Adviser console: {base}/console/  (sign in with an adviser or admin token below)")
    for t in tenants:
        r = t.report
        typer.echo(f"\n  {t.display_name} ({t.name})")
        typer.echo(f"    demo website   : {base}/demo/{t.name}  (the chat widget, bottom right)")
        typer.echo(
            f"    knowledge base : {c.store(t.name).count()} chunks "
            f"({r.files_added + r.files_updated} files indexed, {r.files_unchanged} unchanged, "
            f"{len(r.skipped)} skipped)"
        )
        typer.echo(f"    publishable key: {t.publishable_key}")
        typer.echo(f"    admin token    : {t.admin_token}")
        typer.echo(f"    adviser token  : {t.adviser_token}")
    typer.echo('\nTry it with curl (README, "The handoff with curl", walks through every step):')
    for line in walkthrough(base, tenants[0]):
        typer.echo(f"  {line}")
    if not no_serve:
        _run(host, port)


def walkthrough(base: str, tenant: DemoTenant) -> list[str]:
    json_body = "-H 'Content-Type: application/json'"
    adviser = f"-H 'Authorization: Bearer {tenant.adviser_token}'"
    return [
        f"curl -s -X POST {base}/v1/conversations -H 'X-Rafiq-Key: {tenant.publishable_key}' "
        f'{json_body} -d \'{{"locale": "fr"}}\'',
        "export C=<id> T=<token>   # from the answer above",
        f'curl -s {base}/v1/conversations/$C/messages -H "Authorization: Bearer $T" {json_body} '
        '-d \'{"text": "Je veux parler à un conseiller"}\'',
        f"curl -s {base}/v1/handoffs {adviser}",
        "export H=<handoff id>",
        f"curl -s -X POST {base}/v1/handoffs/$H/claim {adviser}",
        f"curl -s {base}/v1/handoffs/$H/messages {adviser} {json_body} "
        '-d \'{"text": "Bonjour, je suis votre conseillère."}\'',
        f"curl -s {base}/v1/handoffs/$H/resolve {adviser} {json_body} "
        '-d \'{"resolution": "Renseigné", "return_to_bot": true}\'',
    ]
