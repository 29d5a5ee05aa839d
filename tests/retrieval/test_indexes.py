"""A bundle's ANN indexes: saved beside the models, loaded by the engine, answering like exact scoring."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoprec.bundle import load_current
from shoprec.data.store import Store
from shoprec.errors import ConfigError
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.filters import ItemFilters
from shoprec.retrieval.indexes import ANN_DIR, build_indexes, load_indexes, save_indexes
from tests.ranking.conftest import build_workspace

SHOPPERS = [f"u{u:02d}" for u in range(60)] + ["e00", "nobody"]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ranking tests' small shop with iALS and popularity, and an HNSW index for iALS (forced:
    the catalogue is far below the size that gets one by default)."""
    workspace = build_workspace(tmp_path_factory.mktemp("indexed") / "ws", "ials,popularity", "none")
    bundle = load_current(workspace)
    assert build_indexes(bundle.models) == {}  # 16 items: exact scoring, no index
    indexes = build_indexes(bundle.models, min_items=1)
    assert list(indexes) == ["ials"]  # popularity has no vectors
    save_indexes(bundle.path, indexes)
    return workspace


def test_the_engine_loads_the_index_and_answers_as_exact_scoring(indexed: Path) -> None:
    store = Store(indexed)
    engine = RecommendationEngine(store, load_current(indexed))
    assert list(engine.indexes) == ["ials"] and engine.indexes["ials"].kind == "hnsw"
    for filters in (None, ItemFilters(category="Home > Kitchen")):
        assert engine.set_retrieval("ials", "ann")
        from_index = {u: engine.recommend(u, 5, model="ials", filters=filters) for u in SHOPPERS}
        engine.set_retrieval("ials", "exact")
        exact = {u: engine.recommend(u, 5, model="ials", filters=filters) for u in SHOPPERS}
        for user in SHOPPERS:
            assert [(r.item_id, r.source) for r in from_index[user]] == [(r.item_id, r.source) for r in exact[user]]
            assert [r.score for r in from_index[user]] == pytest.approx([r.score for r in exact[user]], rel=1e-4, abs=1e-5)
            assert "k5" not in {r.item_id for r in from_index[user]}  # out of stock
            if filters is not None:
                assert all(r.category == "Home > Kitchen" for r in from_index[user])


def test_a_model_without_an_index_cannot_be_switched_to_ann(indexed: Path) -> None:
    engine = RecommendationEngine(Store(indexed), load_current(indexed))
    assert not engine.set_retrieval("popularity", "ann")
    with pytest.raises(ConfigError, match="'exact' or 'ann'"):
        engine.set_retrieval("ials", "approximate")


def test_an_index_for_another_catalogue_is_refused(indexed: Path, tmp_path: Path) -> None:
    bundle = load_current(indexed)
    folder = bundle.path / ANN_DIR / "ials" / "index.json"
    saved = folder.read_text(encoding="utf-8")
    try:
        folder.write_text(saved.replace(f'"n_items": {bundle.models["ials"].n_items_}', '"n_items": 999'), encoding="utf-8")
        with pytest.raises(Exception, match="999"):
            load_indexes(bundle)
    finally:
        folder.write_text(saved, encoding="utf-8")


def test_training_a_large_catalogue_writes_the_index_into_the_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from shoprec.retrieval import ann

    monkeypatch.setattr(ann, "EXACT_MAX_ITEMS", 10)  # the 16-item shop counts as large
    workspace = build_workspace(tmp_path / "ws", "ials,itemknn", "none")
    bundle = load_current(workspace)
    manifest = json.loads((bundle.path / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["ann"]) == {"ials"} and manifest["ann"]["ials"]["kind"] == "hnsw"
    assert list(RecommendationEngine(Store(workspace), bundle).indexes) == ["ials"]



@pytest.mark.parametrize("fusion", ["rrf", "ltr"])
def test_a_fused_entry_with_an_indexed_member_answers_as_with_full_scores(tmp_path: Path, fusion: str) -> None:
    from shoprec.retrieval import ann

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ann, "EXACT_MAX_ITEMS", 10)  # the 16-item shop counts as large: iALS gets an index
        workspace = build_workspace(tmp_path / "ws", "ials,popularity", fusion)
    engine = RecommendationEngine(Store(workspace), load_current(workspace))
    assert list(engine.indexes) == ["ials"]
    name = f"fusion:{fusion}"
    from_index = {u: engine.recommend(u, 5, model=name, now_ms=1_710_000_000_000) for u in SHOPPERS}
    engine.set_retrieval("ials", "exact")
    exact = {u: engine.recommend(u, 5, model=name, now_ms=1_710_000_000_000) for u in SHOPPERS}
    for user in SHOPPERS:
        assert [r.item_id for r in from_index[user]] == [r.item_id for r in exact[user]]
        assert [r.score for r in from_index[user]] == pytest.approx([r.score for r in exact[user]], rel=1e-4, abs=1e-5)
