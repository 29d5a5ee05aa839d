"""Semantic search: paraphrases found, embeddings cached and updated incrementally, filters, HNSW."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shoprec.data import schema as S
from shoprec.ranking.filters import ItemFilters
from shoprec.search import semantic
from shoprec.search.embeddings_cache import EmbeddingCache, MiniLMEncoder, text_keys
from shoprec.search.semantic import FOLDER, SemanticIndex, SemanticSettings, item_texts

TITLES = [
    ("sofa", "Three-seat couch in grey velvet", "Furniture > Living room", "Nordhem"),
    ("lamp", "Brass floor lamp with linen shade", "Lighting > Floor lamps", "Lumo"),
    ("drill", "Cordless hammer drill 18 V with two batteries", "Tools > Power tools", "Bosch"),
    ("kettle", "Electric kettle 1.7 l stainless steel", "Kitchen > Appliances", "Kettleco"),
    ("shoes", "Men's leather running trainers", "Fashion > Footwear", "Stride"),
    ("tent", "Two-person dome tent, waterproof", "Outdoor > Camping", "Trailfox"),
    ("mower", "Petrol lawn mower with 46 cm cutting width", "Garden > Mowers", "Greencut"),
    ("pillow", "Memory foam pillow for side sleepers", "Bedroom > Bedding", "Dreamy"),
    ("paint", "Matt white interior wall paint 5 l", "DIY > Paint", "Colorex"),
    ("phone", "Smartphone with 6.1 inch OLED display", "Electronics > Phones", "Pixelon"),
]


class CountingEncoder:
    """The real MiniLM encoder, counting the texts it is asked to encode."""

    def __init__(self, inner: MiniLMEncoder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


@pytest.fixture
def encoder(minilm: MiniLMEncoder, monkeypatch: pytest.MonkeyPatch) -> CountingEncoder:
    counting = CountingEncoder(minilm)
    monkeypatch.setattr(semantic, "load_encoder", lambda kind, folder: counting)
    return counting


def catalogue() -> pd.DataFrame:
    return pd.DataFrame({
        S.ITEM_ID: [t[0] for t in TITLES], S.TITLE: [t[1] for t in TITLES], S.CATEGORY: [t[2] for t in TITLES],
        S.BRAND: [t[3] for t in TITLES], S.PRICE: np.arange(10, 110, 10, dtype=float), S.IN_STOCK: [True] * 10,
    })


def test_item_text_joins_title_brand_category_and_a_description_head() -> None:
    items = pd.DataFrame({S.ITEM_ID: ["a", "b"], S.TITLE: ["Bosch drill", "Kettle"], S.BRAND: ["Bosch", "Acme"],
                          S.CATEGORY: ["Tools > Drills", None], S.DESCRIPTION: [None, "Boils water fast and quietly"]})
    assert item_texts(items) == ["Bosch drill. Tools, Drills", "Kettle. Acme"]
    assert item_texts(items, description_chars=17)[1] == "Kettle. Acme. Boils water fast"


def test_a_paraphrase_without_shared_words_finds_its_item(workspace: Path, encoder: CountingEncoder) -> None:
    index = SemanticIndex.build(workspace / FOLDER, catalogue())
    for query, expected in [("settee for the lounge", "sofa"), ("something to boil water", "kettle"),
                            ("cushion to sleep on", "pillow"), ("mobile telephone", "phone")]:
        assert index.search(query, k=1)[0][0] == expected, query
    hits = index.search("settee for the lounge", k=10)
    assert len(hits) == 10 and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_embeddings_are_cached_and_only_changed_items_are_encoded(workspace: Path, encoder: CountingEncoder) -> None:
    items = catalogue()
    SemanticIndex.open_or_build(workspace, items=items)
    assert len(encoder.texts) == len(items)
    encoder.texts.clear()
    again = SemanticIndex.open_or_build(workspace, items=items)  # the index is reused as it is
    assert encoder.texts == [] and len(again) == len(items)
    (workspace / FOLDER / "index").rename(workspace / "moved-away")  # index lost, cache kept
    rebuilt = SemanticIndex.open_or_build(workspace, items=items)
    assert encoder.texts == [] and len(rebuilt) == len(items)
    items.loc[items[S.ITEM_ID] == "tent", S.TITLE] = "Ultralight hiking tent for two"
    changed = SemanticIndex.open_or_build(workspace, items=items)
    assert encoder.texts == item_texts(items[items[S.ITEM_ID] == "tent"])
    assert changed.search("backpacking shelter", k=1)[0][0] == "tent"


def test_upsert_and_delete_are_incremental_and_persisted(workspace: Path, encoder: CountingEncoder) -> None:
    path = workspace / FOLDER
    index = SemanticIndex.build(path, catalogue())
    encoder.texts.clear()
    new = pd.DataFrame({S.ITEM_ID: ["bike"], S.TITLE: ["Mountain bicycle with 21 gears"], S.CATEGORY: ["Outdoor > Cycling"]})
    index.upsert(new)
    assert encoder.texts == item_texts(new) and len(index) == 11
    assert index.delete(["sofa", "unknown"]) == 1
    reopened = SemanticIndex.open(path)
    assert len(reopened) == 10 and "sofa" not in reopened and "bike" in reopened
    ids = [i for i, _ in reopened.search("couch", k=20)]
    assert "sofa" not in ids and len(ids) == 10
    assert reopened.search("two-wheeler for trails", k=1)[0][0] == "bike"
    # Deleting everything leaves an index that answers with nothing, not an error.
    reopened.delete(list(reopened._position))
    assert reopened.search("couch", k=5) == []


def test_filters_restrict_the_answer(workspace: Path, encoder: CountingEncoder) -> None:
    index = SemanticIndex.build(workspace / FOLDER, catalogue())
    hits = index.search("couch", k=10, filters=ItemFilters(category="Outdoor"))
    assert [i for i, _ in hits] == ["tent"]
    hits = index.search("couch", k=10, filters=ItemFilters(price_min=25, price_max=55))
    assert sorted(i for i, _ in hits) == ["drill", "kettle", "shoes"]  # prices 30, 40, 50
    assert index.search("couch", k=10, filters=ItemFilters(brand="nobody")) == []


def test_hnsw_index_agrees_with_the_exact_one(workspace: Path, encoder: CountingEncoder) -> None:
    exact = SemanticIndex.build(workspace / "flat", catalogue())
    approx = SemanticIndex.build(workspace / "hnsw", catalogue(), SemanticSettings(index="hnsw"))
    for query in ("couch", "garden machine", "torch"):
        assert [i for i, _ in approx.search(query, k=3)] == [i for i, _ in exact.search(query, k=3)]
    approx.delete(["sofa"])
    assert "sofa" not in [i for i, _ in SemanticIndex.open(workspace / "hnsw").search("couch", k=10)]


def test_similarity_matches_the_cosine_of_the_encoder(workspace: Path, encoder: CountingEncoder) -> None:
    index = SemanticIndex.build(workspace / FOLDER, catalogue())
    vectors = encoder.inner.encode(["electric kettle"] + item_texts(catalogue().iloc[[3, 0]]))
    got = index.similarity("electric kettle", ["kettle", "sofa", "missing"])
    np.testing.assert_allclose(got[:2], vectors[1:] @ vectors[0], atol=1e-5)
    assert np.isnan(got[2])


def test_cache_keys_depend_on_model_and_text(tmp_path: Path) -> None:
    a, b = text_keys("m1", ["x", "y"]), text_keys("m2", ["x"])
    assert a[0] != a[1] and a[0] != b[0]
    cache = EmbeddingCache(tmp_path, "m1")
    (tmp_path / cache.path.name).write_bytes(b"damaged")
    assert len(EmbeddingCache(tmp_path, "m1")) == 0  # a damaged cache is empty, not an error


@pytest.mark.slow
def test_the_static_encoder_is_distilled_offline_and_searches(workspace: Path) -> None:
    """model2vec distils the local MiniLM folder (~20 s, no download) into the index's models folder."""
    index = SemanticIndex.build(workspace / FOLDER, catalogue(), SemanticSettings(encoder="static"))
    assert (workspace / FOLDER / "models" / "static-minilm" / "config.json").exists()
    vectors = index.encoder.encode(["electric kettle", "electric kettle", ""])
    assert vectors.shape[1] == index.encoder.dim
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert index.search("stainless steel kettle", k=1)[0][0] == "kettle"
    assert index.search("cordless drill batteries", k=1)[0][0] == "drill"
