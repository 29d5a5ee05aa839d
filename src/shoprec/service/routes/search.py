"""`GET /v1/search` (results, facets, total, highlighted titles) and `GET /v1/autocomplete`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from shoprec.search.answer import answer_of, search_answer
from shoprec.service.auth import require_read
from shoprec.service.deps import Services, get_services
from shoprec.service.openapi_errors import OPTIONAL_KEY, READ, errors
from shoprec.service.routes.recommendations import item_filters
from shoprec.service.schemas import (
    AutocompleteOut,
    AutocompleteQuery,
    SearchOut,
    SearchQuery,
    Suggestion,
)

router = APIRouter(tags=["search"], dependencies=[Depends(require_read)])


@router.get("/v1/search", response_model=SearchOut, responses=errors(*READ, 501), openapi_extra=OPTIONAL_KEY)
def search(query: Annotated[SearchQuery, Query()], services: Annotated[Services, Depends(get_services)]) -> SearchOut:
    """Products matching `q`, `k` per page, with the total (what the pages can show) and facet
    counts; titles highlighted (HTML-escaped, matched words in <mark>). `mode` (default `auto`: `ltr`
    when a search ranker is trained, else `hybrid` when the sentence model is loaded, else
    `lexical`). With `user_id`, the first results are re-ranked by the shopper's history.
    Out-of-stock and deleted items are never returned. `shoprec search --json` prints the same answer.

    With `user_id`, a shopper in a running search experiment is answered in their variant's search
    mode (`variant`); the answer's `request_id` goes on the events it leads to (positions 1..k on
    this page)."""
    searcher = services.searcher()
    plan = services.experiments.plan("search", query.user_id)
    mode = plan.arms[0].target if plan is not None else query.mode
    found = search_answer(searcher, query.q, mode=mode, k=query.k, page=query.page, filters=item_filters(query),
                          sort=query.sort, user_id=query.user_id, lookup=services.catalogue.get)
    answer = SearchOut(**found, request_id=uuid.uuid4().hex)
    if plan is not None:
        answer.variant, answer.experiment = plan.variant, plan.experiment.name
    services.experiments.record(answer.request_id, "search", query.user_id, [h.item_id for h in answer.hits], plan)
    return answer


@router.get("/v1/autocomplete", response_model=AutocompleteOut, responses=errors(*READ, 501), openapi_extra=OPTIONAL_KEY)
def autocomplete(query: Annotated[AutocompleteQuery, Query()], services: Annotated[Services, Depends(get_services)]) -> AutocompleteOut:
    """Completions of the prefix `q`: product titles, categories, brands."""
    suggestions = services.searcher().autocomplete(query.q, query.k)
    return AutocompleteOut(q=query.q, suggestions=[Suggestion(text=s["text"], kind=s["kind"]) for s in suggestions])


def search_out(services: Services, query: SearchQuery, result: Any) -> SearchOut:
    """A SearchResult as the API shows it (shoprec.search.answer, what `shoprec search --json` prints
    too), with each hit's price, brand and category from the catalogue, under a new `request_id`."""
    answer = answer_of(result, query.q, k=query.k, page=query.page, lookup=services.catalogue.get)
    return SearchOut(**answer, request_id=uuid.uuid4().hex)
