"""`shoprec search`: search over the workspace's catalogue in any mode, with filters, sorting and facets.

`--json` prints the answer `GET /v1/search` gives (shoprec.search.answer), less its request id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shoprec.cli import run_options, workspace_option
from shoprec.search.sorts import SORTS

# The index and the engine (pandas, tantivy, the sentence model) are imported where they run, so
# that `search --help` does not wait for them.
if TYPE_CHECKING:
    from shoprec.search.results import SearchResult

FACETS_SHOWN = 5  # values per facet in the text output
MODE_CHOICES = ("auto", "lexical", "semantic", "hybrid", "ltr")  # shoprec.search.engine.MODES and AUTO


@click.command("search")
@run_options
@workspace_option
@click.argument("query", nargs=-1)
@click.option("--mode", type=click.Choice(MODE_CHOICES), default="auto", show_default=True,
              help="Search mode; auto: ltr when a search ranker is trained, else hybrid with the sentence model, "
                   "else lexical (as the service).")
@click.option("--user", "user_id", help="The shopper's id, for personalised order (see the note it prints).")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000), help="Items per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1), help="Which page (from 1).")
@click.option("--category", help="Only this category and its descendants, e.g. 'Electronics > Audio'.")
@click.option("--brand", help="Only this brand (case ignored).")
@click.option("--price-min", type=float, help="Lowest price.")
@click.option("--price-max", type=float, help="Highest price.")
@click.option("--in-stock", is_flag=True, help="Only items in stock (the service always applies it).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True,
              help="Order; an empty query sorts by popularity unless told otherwise.")
@click.option("--suggest", is_flag=True, help="Print autocomplete suggestions for QUERY as typed so far instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the service's JSON answer.")
def command(workspace: Path, query: tuple[str, ...], mode: str, user_id: str | None, k: int, page: int,
            category: str | None, brand: str | None, price_min: float | None, price_max: float | None, in_stock: bool,
            sort: str, suggest: bool, as_json: bool) -> None:
    """Search the catalogue for QUERY (put it after `--` if it starts with a dash; none: browse).

    Builds the search indexes on first use and refreshes them when the catalogue changed.
    """
    text = " ".join(query)
    if suggest:
        _print_suggestions(workspace, text, k, as_json)
        return
    from shoprec.search.answer import answer_of
    from shoprec.search.engine import SearchEngine
    from shoprec.search.results import SearchFilters

    filters = SearchFilters(category=category, brand=brand, price_min=price_min, price_max=price_max,
                            in_stock=True if in_stock else None)
    ranked_by_relevance = bool(text.strip()) and sort == "relevance"
    if user_id is not None and not ranked_by_relevance:
        click.echo("note: only a relevance-ordered search with a query is personalised", err=True)
        user_id = None
    # The sentence model is loaded only when the mode may need it (an empty query or another
    # sort is answered lexically in every mode).
    engine = SearchEngine.open(workspace, use_semantic=mode != "lexical" and ranked_by_relevance)
    result = engine.search(text, mode=mode, k=k, offset=(page - 1) * k, filters=filters, sort=sort, user_id=user_id)
    for notice in engine.notices:
        click.echo(f"note: {notice}", err=True)
    answer = answer_of(result, text, k=k, page=page, lookup=engine.item_fields)
    if as_json:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    _print_result(text, result, answer, page, k)


def _print_result(text: str, result: SearchResult, answer: dict[str, Any], page: int, k: int) -> None:
    pages = max(1, -(-answer["total"] // k))
    label = f'"{text}"' if text.strip() else "all items"
    click.echo(f"{label}: {answer['total']:,} items (page {page} of {pages})")
    if result.relaxed:
        click.echo("  no item matches every word; showing items matching any of them")
    for rank, hit in enumerate(answer["hits"], start=(page - 1) * k + 1):
        click.echo(f"{rank:>4}. {hit['item_id']:<14} {hit['score']:9.3f}  {hit['title'] or ''}")
    for name, counts in answer["facets"].items():
        if counts:
            shown = ", ".join(f"{c['value']} ({c['count']:,})" for c in counts[:FACETS_SHOWN])
            click.echo(f"  {name}: {shown}{', ...' if len(counts) > FACETS_SHOWN else ''}")


def _print_suggestions(workspace: Path, text: str, k: int, as_json: bool) -> None:
    from shoprec.search.autocomplete import Autocomplete

    suggestions = Autocomplete.from_store(workspace).suggest(text, min(k, 100))
    if as_json:
        click.echo(json.dumps({"prefix": text, "suggestions": suggestions}, indent=2, ensure_ascii=False))
        return
    for suggestion in suggestions:
        click.echo(f"{suggestion['kind']:<9} {suggestion['text']}")
