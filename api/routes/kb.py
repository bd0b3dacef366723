"""Knowledge-base search for staff of the tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ServicesDep, StaffDep
from api.errors import ErrorBody
from api.schemas import SearchHit, Text

router = APIRouter(prefix="/v1/kb", tags=["knowledge base"])


class SearchRequest(BaseModel):
    query: Annotated[Text, Field(min_length=1, max_length=2000, description="Any language.")]
    k: Annotated[int, Field(ge=1, le=50, description="How many chunks.")] = 5
    language: Annotated[
        str | None, Field(pattern="^(fr|ar|en)$", description="Only chunks in this language.")
    ] = None

    model_config = {
        "json_schema_extra": {"examples": [{"query": "kifach nkhelles lfatura", "k": 3}]}
    }


class SearchResponse(BaseModel):
    results: list[SearchHit]


@router.post(
    "/search",
    summary="Hybrid search of the caller's tenant knowledge base",
    responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def search(body: SearchRequest, user: StaffDep, services: ServicesDep) -> SearchResponse:
    hits = services.retriever(user.tenant).search(body.query, body.k, language=body.language)
    return SearchResponse(results=[SearchHit.from_chunk(h) for h in hits])
