"""HTTP middleware: body size limit, per-tenant CORS, access log and request metrics.

Pure ASGI rather than ``BaseHTTPMiddleware``, so SSE responses stream through
unbuffered. From the outside in: the access log sees every request (preflights and
413s included); CORS headers are added to errors too, so the widget can read them;
the size limit stops an oversized body before the routes touch it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from api.limits import Limits
from api.metrics import UNKNOWN_ROUTE, Metrics
from api.services import Services
from api.tenants import TenantRegistry

access_log = logging.getLogger("rafiq.access")

CUSTOMER_PATH = "/v1/conversations"
"""Only the customer API is called from the tenants' websites; staff pages are same-origin."""
CORS_ALLOW_METHODS = "GET, POST, DELETE"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, X-Rafiq-Key, Last-Event-ID, Accept"
CORS_MAX_AGE_S = 600
ORIGINS_TTL_S = 5.0
UPLOAD_PATH = "/v1/kb/documents"
"""Knowledge-base files arrive here, so this one route has its own, larger body limit."""
EVAL_RUNS_PATH = "/v1/eval/runs"
"""QA sends whole evaluation suites here (a sample tenant's suites are about 100 KB)."""


def install_middleware(app: FastAPI) -> None:
    """Needs ``app.state.services`` and ``app.state.metrics``; sets ``app.state.limits``."""
    services: Services = app.state.services
    metrics: Metrics = app.state.metrics
    config = services.api_config
    app.state.limits = Limits.from_config(config)
    # add_middleware wraps what is already there: the last one added is the outermost.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=config.max_body_bytes,
        larger={UPLOAD_PATH: config.max_upload_bytes, EVAL_RUNS_PATH: config.max_upload_bytes},
    )
    app.add_middleware(TenantCors, origins=TenantOrigins(services.tenants))
    app.add_middleware(AccessLog, metrics=metrics, templates=RouteTemplates(app))


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing lets it through (it turns any other
    error into a 400) and the app's handler renders the usual JSON error."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large(max_bytes))


def _too_large(max_bytes: int) -> str:
    return f"request body larger than {max_bytes} bytes"


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        """``larger`` maps exact paths to the limit that replaces ``max_bytes`` there."""
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope.get("path", ""), self.max_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdecimal() and int(declared) > max_bytes:
            response = error_response(413, "payload_too_large", _too_large(max_bytes))
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            # Chunked bodies declare no length: count what actually arrives.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        await self.app(scope, counting_receive, send)


@dataclass(frozen=True)
class AllowedOrigins:
    by_key: Mapping[str, frozenset[str]]
    """Publishable key → that tenant's origins."""
    anywhere: frozenset[str]
    """Every tenant's origins together."""

    def allows(self, origin: str, publishable_key: str | None) -> bool:
        """A conversation token already pins the tenant, so it only needs a known origin."""
        wanted = _normalise_origin(origin)
        if publishable_key is None:
            return wanted in self.anywhere
        return wanted in self.by_key.get(publishable_key, frozenset())


def _normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


class TenantOrigins:
    """Tenants' ``allowed_origins`` settings, re-read every few seconds.

    Reading on each request would cost database round trips on the widget's hot path;
    a short cache lets a settings change take effect quickly on every replica."""

    def __init__(
        self,
        tenants: TenantRegistry,
        ttl_s: float = ORIGINS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tenants = tenants
        self._ttl_s = ttl_s
        self._clock = clock
        self._current: AllowedOrigins | None = None
        self._expires = 0.0

    async def current(self) -> AllowedOrigins:
        if self._current is None or self._clock() >= self._expires:
            self._current = await anyio.to_thread.run_sync(self.load)
            self._expires = self._clock() + self._ttl_s
        return self._current

    def load(self) -> AllowedOrigins:
        by_key: dict[str, frozenset[str]] = {}
        for tenant in self._tenants.list():
            configured = self._tenants.settings(tenant.name).get("allowed_origins")
            if isinstance(configured, list):
                by_key[tenant.publishable_key] = frozenset(
                    _normalise_origin(o) for o in configured if isinstance(o, str)
                )
        return AllowedOrigins(by_key, frozenset().union(*by_key.values()))


class TenantCors:
    """CORS for the customer API: each tenant lists the sites its widget runs on.

    A refused origin gets no CORS headers at all, never ``*``: the browser then keeps
    the response from the page."""

    def __init__(self, app: ASGIApp, origins: TenantOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == CUSTOMER_PATH or path.startswith(CUSTOMER_PATH + "/")
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = await self.origins.current()

        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, allowed)(scope, receive, send)
            return

        granted = allowed.allows(origin, headers.get("x-rafiq-key"))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.add_vary_header("Origin")
                if granted:
                    response_headers["Access-Control-Allow-Origin"] = origin
                    response_headers["Access-Control-Expose-Headers"] = "Retry-After"
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _preflight(origin: str, allowed: AllowedOrigins) -> Response:
        # The preflight does not carry the key's value, only its name: any tenant's
        # origin passes here and the actual request is checked against its own tenant.
        if not allowed.allows(origin, None):
            return error_response(
                403,
                "origin_not_allowed",
                "this origin is not in any tenant's allowed_origins",
                headers={"Vary": "Origin"},
            )
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
                "Vary": "Origin",
            },
        )


class RouteTemplates:
    """The route template of a request (``/v1/conversations/{conversation_id}``), the
    label that keeps metrics and logs free of ids.

    The router records the route it picked in the scope; requests answered before
    routing (preflights, oversized bodies) are matched against the templates here."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def of(self, scope: Scope) -> str:
        routed = getattr(scope.get("route"), "path", None)
        if isinstance(routed, str):
            return routed
        if self._patterns is None:
            # Built on first use: routes are added after the middleware is installed.
            self._patterns = [
                (compile_path(context.path)[0], context.path)
                for context in iter_route_contexts(self._app.routes)
                if context.path
            ]
        path = scope.get("path", "")
        return next((t for p, t in self._patterns if p.match(path)), UNKNOWN_ROUTE)


class AccessLog:
    """One log line and one metrics sample per request: never the query string or body."""

    def __init__(self, app: ASGIApp, metrics: Metrics, templates: RouteTemplates) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            seconds = time.perf_counter() - started
            method: str = scope["method"]
            route = self.templates.of(scope)
            self.metrics.observe_request(method, route, status, seconds)
            duration_ms = round(seconds * 1000, 1)
            access_log.info(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                duration_ms,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
