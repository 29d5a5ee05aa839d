"""`GET /v1/recommendations`: the shopper's fused, filtered, explained list (any user id, known or not).

Every answer carries a `request_id`, and the experiment variant that answered (shoprec.experiments):
the list is recorded as shown, and events posted with its `request_id` are credited to it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from shoprec.errors import ConfigError, ShoprecError
from shoprec.experiments.interleaving import team_draft
from shoprec.experiments.serving import ExperimentRuntime, Plan, request_rules, with_rules
from shoprec.ranking.engine import Recommendation, RecommendationEngine
from shoprec.ranking.filters import ItemFilters
from shoprec.service.auth import check_personal, require_read
from shoprec.service.deps import Services, get_services
from shoprec.service.openapi_errors import OPTIONAL_KEY, READ, errors
from shoprec.service.problems import InvalidInput
from shoprec.service.schemas import FilterQuery, ReasonOut, RecommendationOut, RecommendationQuery, RecommendationsOut

router = APIRouter(tags=["recommendations"], dependencies=[Depends(require_read)])
log = logging.getLogger(__name__)
SURFACE = "recommendations"


@router.get("/v1/recommendations", response_model=RecommendationsOut, responses=errors(*READ, 503), openapi_extra=OPTIONAL_KEY)
async def recommendations(query: Annotated[RecommendationQuery, Query()], request: Request,
                          services: Annotated[Services, Depends(get_services)]) -> RecommendationsOut:
    """The top `k` items for `user_id` from their history as stored now; a shopper with no history
    gets the fallback (popular items). Only items in the catalogue and in stock are returned.
    `explain=true` names items from the shopper's history: it needs an admin key or that
    shopper's own signed session (403 otherwise).

    The options of `shoprec recommend`: `model` (an entry of the bundle), `diversity`, `exclude`,
    `include_seen`, and a guest's `history`. Without `model`, a shopper in a running experiment gets
    their variant's answer (`variant`); the answer's `request_id` goes on the events it leads to."""
    # Async on purpose: the answer is a few milliseconds of CPU from memory, and running it on the
    # event loop saves the worker-thread hand-off and the threads' fight for the GIL (server CPU
    # per request 4.9 -> 3.4 ms at 16 clients; docs/benchmarks.md). Use one worker per core.
    if query.explain:
        check_personal(request, services, query.user_id)
    engine = services.recommender()
    check_model(engine, query.model)
    runtime = services.experiments
    request_id = uuid.uuid4().hex
    plan = None if query.model else await planned(runtime, SURFACE, query.user_id, engine)
    rules = request_rules(engine, query.include_seen, _list(query.exclude), query.diversity)
    history = known_items(engine, _list(query.history))
    filters = item_filters(query)

    def answer(chosen: RecommendationEngine, model: str | None) -> list[Recommendation]:
        return with_rules(chosen, rules).recommend(query.user_id, query.k, filters=filters, explain=query.explain,
                                                   model=model, history_items=history)

    recs, model, teams = answer_in_plan(runtime, plan, engine, query.model, query.k, request_id, answer)
    runtime.record(request_id, SURFACE, query.user_id, [r.item_id for r in recs], plan, teams)
    return RecommendationsOut(user_id=query.user_id, bundle=engine.bundle.version, model=model, request_id=request_id,
                              variant=plan.variant if plan else None, experiment=plan.experiment.name if plan else None,
                              items=[recommendation_out(r, query.explain) for r in recs])


async def planned(runtime: ExperimentRuntime, surface: str, user_id: str | None, engine: RecommendationEngine) -> Plan | None:
    """The request's experiment plan, with the bundles its arms need loaded (in a worker thread: seconds,
    once); None outside experiments, or when an arm cannot be loaded (logged; the default answers)."""
    plan = runtime.plan(surface, user_id)
    if plan is not None and runtime.needs_loading(plan, engine):
        try:
            await run_in_threadpool(runtime.load, plan, engine)
        except (ShoprecError, OSError) as exc:
            log.error("experiment %s: a variant cannot be loaded, serving the default: %s", plan.experiment.name, exc)
            return None
    return plan


def answer_in_plan(runtime: ExperimentRuntime, plan: Plan | None, engine: RecommendationEngine, model: str | None, k: int,
                   request_id: str, answer: Any) -> tuple[list[Any], str | None, list[str] | None]:
    """(items, bundle entry or None, each slot's team or None) from `answer(engine, model)`: the
    default engine's, the shopper's variant's, or both variants' merged by team draft."""
    if plan is not None:
        try:
            arms = [runtime.engine(arm.target, engine) for arm in plan.arms]
        except ShoprecError as exc:  # an entry a reload removed: outside the experiment for now
            log.warning("experiment %s: %s; serving the default", plan.experiment.name, exc)
        else:
            if len(arms) == 1:
                chosen, entry = arms[0]
                return answer(chosen, entry), entry or chosen.bundle.default_model, None
            first, second = answer(*arms[0]), answer(*arms[1])
            names = (plan.arms[0].variant, plan.arms[1].variant)
            merged = team_draft([r.item_id for r in first], [r.item_id for r in second], k, request_id, names)
            by_id = {r.item_id: r for r in [*second, *first]}
            return [by_id[item] for item, _ in merged], None, [team for _, team in merged]
    return answer(engine, model), model or engine.bundle.default_model, None


def check_model(engine: RecommendationEngine, model: str | None) -> None:
    """422 for a `model` the bundle lacks, listing its entries."""
    if model is not None and model not in engine.bundle.models:
        entries = list(engine.bundle.models)
        raise InvalidInput(f"model {model!r} is not in bundle {engine.bundle.version}; its entries: {', '.join(entries)}",
                           [{"field": "query.model", "message": "not an entry of the bundle", "entries": entries}])


def known_items(engine: RecommendationEngine, item_ids: list[str] | None) -> list[str] | None:
    """A guest's history without the ids the bundle does not know (items listed since it was trained)."""
    if not item_ids:
        return None
    known = [i for i, index in zip(item_ids, engine.bundle.item_ids.index_of(item_ids), strict=True) if index >= 0]
    return known or None


def _list(text: str | None) -> list[str] | None:
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    return parts or None


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
