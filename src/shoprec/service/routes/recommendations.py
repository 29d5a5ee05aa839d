"""`GET /v1/recommendations`: the shopper's fused, filtered, explained list (any user id, known or not)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from shoprec.errors import ConfigError
from shoprec.ranking.filters import ItemFilters
from shoprec.service.auth import check_personal, require_read
from shoprec.service.deps import Services, get_services
from shoprec.service.openapi_errors import OPTIONAL_KEY, READ, errors
from shoprec.service.problems import InvalidInput
from shoprec.service.schemas import FilterQuery, ReasonOut, RecommendationOut, RecommendationQuery, RecommendationsOut

router = APIRouter(tags=["recommendations"], dependencies=[Depends(require_read)])


@router.get("/v1/recommendations", response_model=RecommendationsOut, responses=errors(*READ, 503), openapi_extra=OPTIONAL_KEY)
async def recommendations(query: Annotated[RecommendationQuery, Query()], request: Request,
                          services: Annotated[Services, Depends(get_services)]) -> RecommendationsOut:
    """The top `k` items for `user_id` from their history as stored now; a shopper with no history
    gets the fallback (popular items). Only items in the catalogue and in stock are returned.
    `explain=true` names items from the shopper's history: it needs an admin key or that
    shopper's own signed session (403 otherwise)."""
    # Async on purpose: the answer is a few milliseconds of CPU from memory, and running it on the
    # event loop saves the worker-thread hand-off and the threads' fight for the GIL (server CPU
    # per request 4.9 -> 3.4 ms at 16 clients; docs/benchmarks.md). Use one worker per core.
    if query.explain:
        check_personal(request, services, query.user_id)
    engine = services.recommender()
    recs = engine.recommend(query.user_id, query.k, filters=item_filters(query), explain=query.explain)
    return RecommendationsOut(user_id=query.user_id, bundle=engine.bundle.version,
                              items=[recommendation_out(r, query.explain) for r in recs])


def item_filters(query: FilterQuery) -> ItemFilters:
    """The filters a query asks for; only items in stock, always."""
    try:
        return ItemFilters(category=query.category, brand=query.brand, price_min=query.price_min,
                           price_max=query.price_max, in_stock=True)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from exc


def recommendation_out(rec: Any, explain: bool) -> RecommendationOut:
    """An engine's Recommendation as the API shows it (reasons only when asked for)."""
    reasons = [ReasonOut(model=r.model, contribution=r.contribution, text=r.text) for r in rec.reasons] if explain else None
    return RecommendationOut(item_id=rec.item_id, score=rec.score, title=rec.title, category=rec.category,
                             brand=rec.brand, price=rec.price, reasons=reasons)
