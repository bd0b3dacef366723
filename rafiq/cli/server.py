"""``rafiq serve`` and ``rafiq demo``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from api.app import create_app
from rafiq.cli.output import container
from rafiq.demo import load_sample_tenant, sample_tenant_dirs

HostOption = Annotated[str | None, typer.Option("--host", help="Default: RAFIQ_HOST (127.0.0.1).")]
PortOption = Annotated[int | None, typer.Option("--port", help="Default: RAFIQ_PORT (8000).")]


def _run(host: str | None, port: int | None) -> None:
    c = container()
    c.settings.check_production()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(c),
        host=host or c.settings.host,
        port=port or c.settings.port,
        log_level="info",
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
    c.settings.check_production()
    folders = sample_tenant_dirs(c.settings.samples_dir)
    if not folders:
        raise typer.BadParameter(f"no sample tenant under {c.settings.samples_dir}")
    base = f"http://{host or c.settings.host}:{port or c.settings.port}"
    typer.echo("Loading sample tenants…")
    tenants = [load_sample_tenant(c, folder) for folder in folders]
    typer.echo("")
    typer.echo(f"Rafiq demo — API {base}  ·  OpenAPI {base}/docs  ·  health {base}/healthz")
    for t in tenants:
        r = t.report
        typer.echo(f"\n  {t.display_name} ({t.name})")
        typer.echo(
            f"    knowledge base : {c.store(t.name).count()} chunks "
            f"({r.files_added + r.files_updated} files indexed, {r.files_unchanged} unchanged, "
            f"{len(r.skipped)} skipped)"
        )
        typer.echo(f"    publishable key: {t.publishable_key}")
        typer.echo(f"    admin token    : {t.admin_token}")
    first = tenants[0]
    typer.echo("\nTry:")
    typer.echo(
        f"  curl -s {base}/v1/kb/search -H 'Authorization: Bearer {first.admin_token}' "
        '-H \'Content-Type: application/json\' -d \'{"query": "kifach nkhelles lfatura", "k": 3}\''
    )
    typer.echo(f'  .venv/bin/rafiq kb search --tenant {first.name} "ch7al kaykhlles l\'internet?"')
    if not no_serve:
        _run(host, port)
