"""Request dependencies: the services and the authenticated staff user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.errors import ApiError
from api.services import Services
from api.tenants import StaffUser


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
