"""``rafiq tenants``: client companies served by this deployment."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import BaseModel

from rafiq.cli.output import JsonOption, container, print_json

app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)


class TenantCreated(BaseModel):
    tenant: str
    publishable_key: str
    admin_token: str


class TenantInfo(BaseModel):
    tenant: str
    display_name: str
    publishable_key: str


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Short lowercase name, e.g. atlastel.")],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown to customers.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a tenant; prints its publishable key and a first admin token (shown once)."""
    tenant, admin = container().tenants.create(name, display_name)
    result = TenantCreated(
        tenant=tenant.name, publishable_key=tenant.publishable_key, admin_token=admin.token
    )
    if as_json:
        print_json(result)
        return
    typer.echo(f"Tenant {tenant.name} created.")
    typer.echo(f"  publishable key : {tenant.publishable_key}")
    typer.echo(f"  admin token     : {admin.token}   (shown once: store it now)")


@app.command("list")
def list_tenants(as_json: JsonOption = False) -> None:
    """List tenants."""
    rows = [
        TenantInfo(tenant=t.name, display_name=t.display_name, publishable_key=t.publishable_key)
        for t in container().tenants.list()
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("No tenant yet: `rafiq tenants create NAME`.")
    for row in rows:
        typer.echo(f"{row.tenant:<20} {row.display_name:<30} {row.publishable_key}")
