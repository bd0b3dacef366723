"""Prometheus scrape endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import choose_encoder

from api.metrics import get_metrics

router = APIRouter(tags=["ops"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    # Honour Accept so a scraper asking for OpenMetrics gets it.
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(get_metrics(request).registry), media_type=content_type)
