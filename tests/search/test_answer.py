"""One search behind `shoprec search --json` and `GET /v1/search`: the same ids in the same order for
20 queries in every mode, and a `total` that counts exactly what the pages can show."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from shoprec.cli import cli
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.search.engine import SearchEngine
from shoprec.service.app import create_app
from tests.service.conftest import ADMIN, build_shop, settings_for

MODES = ("lexical", "semantic", "hybrid", "ltr", "auto")
K = 5


def _queries(items: pd.DataFrame) -> list[str]:
    """20 queries: title words, two-word titles, brands, a typo, a category word and an empty query."""
    words = [w for t in items[S.TITLE].dropna() for w in re.findall(r"[A-Za-z]{4,}", t)]
    common = list(pd.Series(words).str.lower().value_counts().index)
    titles = [" ".join(t.split()[:2]).lower() for t in items[S.TITLE].dropna().head(4)]
    brands = [b for b in items[S.BRAND].dropna().unique()[:3]]
    typo = common[0][:-1] + "x" + common[0][-1]
    queries = [*common[:9], *titles, *brands, typo, "somewhere to sleep outdoors", "zzzz qqqq", ""]
    assert len(queries) == 20
    return queries


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A trained shop with both search indexes and a search ranker trained on judgments made from the titles."""
    workspace = build_shop(tmp_path_factory.mktemp("one-search") / "ws", items=60, events=2000)
    items = Store(workspace).items()
    queries = _queries(items)
    rows = []
    for query in queries[:12]:
        for item, title in zip(items[S.ITEM_ID], items[S.TITLE].fillna("")):
            if any(w in title.lower() for w in query.split()):
                rows.append((query, item, 3.0))
        rows += [(query, item, 1.0) for item in items[S.ITEM_ID].head(3)]
    judgments = workspace.parent / "judgments.csv"
    pd.DataFrame(rows, columns=["query", "item_id", "relevance"]).drop_duplicates(["query", "item_id"]).to_csv(
        judgments, index=False)
    trained = CliRunner().invoke(cli, ["search-train", "--workspace", str(workspace), "--judgments", str(judgments)])
    assert trained.exit_code == 0, trained.output
    return workspace, queries


@pytest.fixture(scope="module")
def client(shop: tuple[Path, list[str]]) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(shop[0], semantic_search=True))) as test_client:
        yield test_client


def _cli(workspace: Path, query: str, mode: str, page: int = 1) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["search", "--workspace", str(workspace), "--json", "--in-stock", "--mode", mode,
                                      "--k", str(K), "--page", str(page), "--", *query.split()])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _api(client: TestClient, query: str, mode: str, page: int = 1) -> dict:  # type: ignore[type-arg]
    answer = client.get("/v1/search", params={"q": query, "mode": mode, "k": K, "page": page}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_auto_is_the_best_trained_mode(shop: tuple[Path, list[str]]) -> None:
    engine = SearchEngine.open(shop[0])
    assert engine.ranker is not None and engine.resolve_mode("auto") == "ltr"
    assert SearchEngine.open(shop[0], use_semantic=False).resolve_mode("auto") == "lexical"


@pytest.mark.parametrize("mode", MODES)
def test_cli_and_api_give_the_same_answer(shop: tuple[Path, list[str]], client: TestClient, mode: str) -> None:
    workspace, queries = shop
    for query in queries:
        by_cli, by_api = _cli(workspace, query, mode), _api(client, query, mode)
        assert [h["item_id"] for h in by_cli["hits"]] == [h["item_id"] for h in by_api["hits"]], (query, mode)
        del by_api["request_id"], by_api["variant"], by_api["experiment"]
        assert by_cli == by_api, (query, mode)
        assert by_cli["total"] >= len(by_cli["hits"])


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "semantic"])
def test_total_counts_what_the_pages_show(shop: tuple[Path, list[str]], client: TestClient, mode: str) -> None:
    # "skillet"-like queries: few lexical matches, but hybrid and semantic rank every item
    for query in shop[1][:3] + shop[1][-3:]:
        first = _api(client, query, mode)
        shown: list[str] = []
        for page in range(1, first["total"] // K + 3):
            shown += [h["item_id"] for h in _api(client, query, mode, page)["hits"]]
        assert len(shown) == len(set(shown)) == first["total"], (query, mode)
