"""``rafiq users``: staff accounts (adviser, qa, admin) bound to one tenant."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import BaseModel

from rafiq.cli.output import JsonOption, TenantOption, container, print_json

app = typer.Typer(help="Create staff users.", no_args_is_help=True)


class UserCreated(BaseModel):
    user_id: str
    role: str
    token: str


@app.command("create")
def create(
    tenant: TenantOption,
    role: Annotated[str, typer.Option("--role", help="adviser, qa or admin.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a staff user; prints their personal token (shown once)."""
    issued = container().tenants.create_user(tenant, role, name)
    if as_json:
        print_json(UserCreated(user_id=issued.user.id, role=issued.user.role, token=issued.token))
        return
    typer.echo(f"User {issued.user.name} ({issued.user.role}) created for {tenant}.")
    typer.echo(f"  token : {issued.token}   (shown once: store it now)")
