"""`shoprec search-eval` and `search-train`: the JSON shape, held-out discipline, saved artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.cli.generate import generate_into_store
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.search import learning
from shoprec.search.engine import SearchEngine
from shoprec.search.ranker import FOLDER, SearchRanker


@pytest.fixture(scope="module")
def judged_shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic shop (catalogue and events) and judgments from its searches: the item a search
    was made for is relevant (3), other items of its leaf category somewhat (2), one other item not (1)."""
    workspace = tmp_path_factory.mktemp("judged") / "ws"
    store = Store(workspace)
    try:
        generate_into_store(store, 80, 80, 4000, 11, "en", 30, "2024-09-01")
        events, items = store.read_events(), store.items()
    finally:
        store.close()
    searches = events[events[S.EVENT_TYPE] == "search"].drop_duplicates(S.QUERY).head(40)
    category = items.set_index(S.ITEM_ID)[S.CATEGORY]
    rows = []
    for query, target in zip(searches[S.QUERY], searches[S.ITEM_ID]):
        rows.append((query, target, 3.0))
        same = category[category == category[target]].index.difference([target])[:3]
        rows += [(query, other, 2.0) for other in same]
        rows.append((query, category[category != category[target]].index[0], 1.0))
    path = workspace.parent / "judgments.csv"
    pd.DataFrame(rows, columns=["query", "item_id", "relevance"]).to_csv(path, index=False)
    return workspace, path


def test_search_eval_json_shape_and_held_out_discipline(judged_shop: tuple[Path, Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, judgments = judged_shop
    learned_from: dict[str, list[str]] = {}
    tune, train = learning.tune_hybrid, learning.train_ranker

    def spy_tune(engine, frame, queries, **kwargs):  # type: ignore[no-untyped-def]
        learned_from["hybrid"] = list(queries)
        assert set(kwargs.get("lists") or {}) <= set(queries)  # candidates of training queries only
        return tune(engine, frame, queries, **kwargs)

    def spy_train(engine, frame, queries, settings=None, **kwargs):  # type: ignore[no-untyped-def]
        learned_from["ltr"] = list(queries)
        assert set(kwargs.get("lists") or {}) <= set(queries)
        return train(engine, frame, queries, settings, **kwargs)

    monkeypatch.setattr(learning, "tune_hybrid", spy_tune)
    monkeypatch.setattr(learning, "train_ranker", spy_train)
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(cli, ["search-eval", "--workspace", str(workspace), "--judgments", str(judgments),
                                      "--k", "10", "--json-out", str(out), "--train-fraction", "0.5", "--seed", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"lexical", "semantic", "hybrid", "ltr"}
    for row in report["results"].values():
        assert set(row) == {"ndcg@10", "recall@100", "p50_ms", "p99_ms", "queries"}
        assert 0.0 <= row["ndcg@10"] <= 1.0 and row["p50_ms"] <= row["p99_ms"]
    assert set(report["all_queries"]) == {"lexical", "semantic"}  # modes that learn nothing
    train_queries, test_queries = set(report["split"]["train"]), set(report["split"]["test"])
    all_queries = set(pd.read_csv(judgments)["query"])
    assert not train_queries & test_queries and train_queries | test_queries == all_queries
    assert set(learned_from["hybrid"]) == set(learned_from["ltr"]) == train_queries
    assert all(row["queries"] == len(test_queries) for row in report["results"].values())
    assert report["all_queries"]["lexical"]["queries"] == len(all_queries)
    assert "ltr" in result.output and "held-out" in result.output


def test_search_eval_json_flag_prints_the_report_alone(judged_shop: tuple[Path, Path]) -> None:
    workspace, judgments = judged_shop
    result = CliRunner().invoke(cli, ["search-eval", "-w", str(workspace), "--judgments", str(judgments),
                                      "--modes", "lexical", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)  # stdout is the JSON and nothing else
    assert set(printed["results"]) == {"lexical"}
    assert printed == json.loads((workspace / "reports" / "search-eval.json").read_text())  # the file, as before


def test_search_eval_rejects_unknown_modes(judged_shop: tuple[Path, Path]) -> None:
    workspace, judgments = judged_shop
    result = CliRunner().invoke(cli, ["search-eval", "-w", str(workspace), "--judgments", str(judgments), "--modes", "lexical,magic"])
    assert result.exit_code != 0 and "--modes" in str(result.exception or result.output)


def test_search_train_saves_a_ranker_the_engine_then_uses(judged_shop: tuple[Path, Path], tmp_path: Path) -> None:
    workspace, judgments = judged_shop
    result = CliRunner().invoke(cli, ["search-train", "--workspace", str(workspace), "--judgments", str(judgments)])
    assert result.exit_code == 0, result.output
    assert "held-out" in result.output and "ltr" in result.output
    as_json = CliRunner().invoke(cli, ["search-train", "--workspace", str(workspace), "--judgments", str(judgments),
                                       "--json"])
    assert as_json.exit_code == 0, as_json.output
    printed = json.loads(as_json.stdout)
    assert set(printed["held_out_ndcg@10"]) == {"lexical", "hybrid", "ltr"}
    assert printed["ranker"] == str(workspace / FOLDER)
    assert SearchRanker.load(workspace / FOLDER).trained_queries_ > 0
    assert (workspace / "search" / "hybrid.json").exists()
    engine = SearchEngine.open(workspace)
    assert engine.ranker is not None
    engine.search("tent", mode="ltr", k=5)
    assert not any("learned search ranker" in n for n in engine.notices)
