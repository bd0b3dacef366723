"""Who a staff token belongs to: the console needs the user's id, role and tenant."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ServicesDep, StaffDep
from api.errors import ErrorBody
from api.tenants import Role

router = APIRouter(prefix="/v1/me", tags=["staff"])


class Me(BaseModel):
    user_id: str = Field(examples=["u_3f9c2b7d1e"])
    name: str = Field(description="As given to `rafiq users create --name`.", examples=["salma"])
    role: Role
    tenant: str = Field(examples=["atlastel"])
    tenant_display_name: str = Field(examples=["Atlas Télécom"])


@router.get(
    "",
    summary="The signed-in staff user: id, name, role and tenant",
    responses={401: {"model": ErrorBody, "description": "Missing or unknown staff token"}},
)
def me(user: StaffDep, services: ServicesDep) -> Me:
    tenant = services.tenants.get(user.tenant)
    return Me(
        user_id=user.id,
        name=user.name,
        role=user.role,
        tenant=tenant.name,
        tenant_display_name=tenant.display_name,
    )
