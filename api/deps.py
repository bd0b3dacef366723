"""Request dependencies: the services and the authenticated staff user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from api.errors import ApiError
from api.services import Services
from api.tenants import Role, StaffUser


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def current_staff(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(description="`Bearer st_...`")] = None,
) -> StaffUser:
    if not authorization or not authorization.startswith("Bearer "):
        raise ApiError(401, "unauthorized", "send a staff token: Authorization: Bearer st_...")
    user = services.tenants.authenticate(authorization.removeprefix("Bearer ").strip())
    if user is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    return user


StaffDep = Annotated[StaffUser, Depends(current_staff)]


def require_role(*roles: Role) -> Callable[[StaffUser], StaffUser]:
    """An admin may do everything an adviser or QA member may."""
    allowed = {*roles, "admin"}

    def check(user: StaffDep) -> StaffUser:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", f"this needs the {' or '.join(sorted(allowed))} role")
        return user

    return check


AdviserDep = Annotated[StaffUser, Depends(require_role("adviser"))]
QaDep = Annotated[StaffUser, Depends(require_role("qa"))]
AdminDep = Annotated[StaffUser, Depends(require_role("admin"))]
