"""Items: `GET /v1/items/{item_id}`, `GET .../similar`, and the catalogue writes `PUT` / `DELETE`.

A write goes to the store first, then to the recommendation engine and the search index, before
the answer: the next request already sees it (a deleted or out-of-stock item is never
recommended nor found).
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from shoprec.data import schema as S
from shoprec.errors import ShoprecError
from shoprec.ranking.engine import Recommendation, RecommendationEngine
from shoprec.service.auth import require_admin, require_read
from shoprec.service.deps import Services, get_services
from shoprec.service.intake import canonical_item
from shoprec.service.openapi_errors import ADMIN, OPTIONAL_KEY, READ, errors
from shoprec.service.problems import NotFound
from shoprec.service.routes.recommendations import answer_in_plan, check_model, planned, recommendation_out
from shoprec.service.schemas import Id, ItemIn, ItemOut, ItemWritten, SimilarOut, SimilarQuery

router = APIRouter(tags=["items"])

ItemId = Annotated[Id, Path()]
ServicesDep = Annotated[Services, Depends(get_services)]


@router.get("/v1/items/{item_id}", response_model=ItemOut, dependencies=[Depends(require_read)], responses=errors(*READ, 404),
            openapi_extra=OPTIONAL_KEY)
async def get_item(item_id: ItemId, services: ServicesDep) -> ItemOut:
    """One catalogue item."""
    return ItemOut(**item_fields(services, item_id))


@router.get("/v1/items/{item_id}/similar", response_model=SimilarOut, dependencies=[Depends(require_read)],
            responses=errors(*READ, 404, 503), openapi_extra=OPTIONAL_KEY)
async def similar_items(item_id: ItemId, query: Annotated[SimilarQuery, Query()], services: ServicesDep) -> SimilarOut:
    """Items like this one (never itself, never deleted or out-of-stock items), from the bundle's
    similar_items entry or the entry `model` names. Without `model`, a shopper (`user_id`) in a
    running experiment on similar items gets their variant's answer (`variant`); the answer's
    `request_id` goes on the events it leads to."""
    engine = services.recommender()
    item_fields(services, item_id)  # 404 for an item not in the catalogue
    check_model(engine, query.model)
    request_id = uuid.uuid4().hex
    plan = None if query.model else await planned(services.experiments, "similar", query.user_id, engine)
    runtime = services.experiments
    answered: list[str | None] = []  # the entry each answer came from

    def answer(chosen: RecommendationEngine, model: str | None) -> list[Recommendation]:
        similar_engine = runtime.similar_engine(chosen, model)
        answered.append(similar_engine.similarity_name)
        return similar_engine.similar(item_id, query.k, explain=query.explain)

    try:
        recs, _, teams = answer_in_plan(runtime, plan, engine, query.model, query.k, request_id, answer)
    except ShoprecError as exc:  # listed after the bundle was trained: nothing known about it yet
        raise NotFound(str(exc)) from exc
    runtime.record(request_id, "similar", query.user_id, [r.item_id for r in recs], plan, teams)
    return SimilarOut(item_id=item_id, bundle=engine.bundle.version, model=answered[0] if len(answered) == 1 else None,
                      request_id=request_id,
                      variant=plan.variant if plan else None, experiment=plan.experiment.name if plan else None,
                      items=[recommendation_out(r, query.explain) for r in recs])


@router.put("/v1/items/{item_id}", response_model=ItemWritten, dependencies=[Depends(require_admin)],
            responses={201: {"model": ItemWritten, "description": "Created."}, **errors(*ADMIN, 413)})
def put_item(item_id: ItemId, item: ItemIn, services: ServicesDep, response: Response) -> ItemWritten:
    """Create the item or replace it whole. Validated with the ingestion rules (e.g. price >= 0)."""
    frame = canonical_item(item_id, item)
    added, _ = services.store.upsert_items(frame)
    services.sync_catalogue()
    response.status_code = 201 if added else 200
    return ItemWritten(item_id=item_id, created=bool(added))


@router.delete("/v1/items/{item_id}", status_code=204, dependencies=[Depends(require_admin)], responses=errors(*ADMIN, 404))
def delete_item(item_id: ItemId, services: ServicesDep) -> Response:
    """Remove the item from the catalogue, recommendations and search (its past events stay)."""
    if not services.store.delete_items([item_id]):
        raise NotFound(f"item {item_id!r} is not in the catalogue")
    services.sync_catalogue()
    return Response(status_code=204)


def item_fields(services: Services, item_id: str) -> dict[str, Any]:
    """The item's fields with attributes parsed; 404 when it is not in the catalogue."""
    services.sync_catalogue()
    fields = services.catalogue.get(item_id)
    if fields is None:
        raise NotFound(f"item {item_id!r} is not in the catalogue")
    raw = fields.get(S.ATTRIBUTES)
    fields[S.ATTRIBUTES] = json.loads(raw) if isinstance(raw, str) else None
    return fields
