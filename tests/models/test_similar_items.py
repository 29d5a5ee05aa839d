"""SimilarItemsRecommender: an item with thin behaviour gets items of its own kind; a well-observed one
gets what its shoppers take with it; the trust in behaviour is the formula computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.itemknn import ItemKNNRecommender
from shoprec.models.similar_items import SimilarItemsRecommender

VIEW = EVENT_TYPE_CODE["view"]
T0 = 1_700_000_000_000
KINDS = {"boot": ("Shoes > Boots", "leather boot", "Stompa"), "tent": ("Outdoor > Tents", "dome tent", "Campo"),
         "jeans": ("Clothing > Jeans", "denim jeans", "Denimo"), "sock": ("Clothing > Socks", "wool sock", "Knitto")}


def _shop() -> Dataset:
    """Eight items of each kind. Boot 0 has one shopper, who also viewed a tent and jeans (thin,
    misleading co-occurrence). Boot 1 has 200 shoppers, each of whom also viewed sock 0 (strong
    co-occurrence across kinds). Other items get background views within their kind."""
    items = [(f"{kind}-{i}", f"{title} model {i}", category, brand, 20.0 + i)
             for kind, (category, title, brand) in KINDS.items() for i in range(8)]
    frame = pd.DataFrame(items, columns=["item_id", "title", "category", "brand", "price"])
    events = [("thin", "boot-0"), ("thin", "tent-3"), ("thin", "jeans-2")]
    events += [(f"fan-{u}", item) for u in range(200) for item in ("boot-1", "sock-0")]
    rng = np.random.default_rng(3)
    for u in range(60):
        kind = list(KINDS)[u % 4]
        events += [(f"bg-{u}", f"{kind}-{i}") for i in rng.choice(np.arange(2, 8), size=3, replace=False)]
    rows = pd.DataFrame([(user, item, "view", T0 + k) for k, (user, item) in enumerate(events)],
                        columns=["user_id", "item_id", "event_type", "timestamp"])
    return Dataset.from_frames(rows, frame)


def _top(model: SimilarItemsRecommender | ItemKNNRecommender, data: Dataset, item: str, k: int) -> list[str]:
    index = int(data.item_ids.index(item))  # type: ignore[arg-type]
    history = Histories.from_lists([[(index, VIEW, T0)]])
    ranked = model.recommend(history, k, exclude=[np.array([index])])[0]
    return [str(i) for i in data.item_ids.id_of(ranked.items)]


def test_an_item_with_thin_behaviour_gets_items_of_its_own_kind() -> None:
    data = _shop()
    cooccurrence = _top(ItemKNNRecommender(neighbours=20).fit(data), data, "boot-0", 2)
    assert set(cooccurrence) == {"tent-3", "jeans-2"}  # what one shopper's views say
    similar = _top(SimilarItemsRecommender().fit(data), data, "boot-0", 5)
    assert all(item.startswith("boot-") for item in similar), similar


def test_an_item_with_strong_behaviour_gets_what_its_shoppers_take_with_it() -> None:
    data = _shop()
    similar = _top(SimilarItemsRecommender().fit(data), data, "boot-1", 3)
    assert similar[0] == "sock-0"  # 200 shoppers viewed both: behaviour is trusted
    assert all(item.startswith("boot-") for item in similar[1:])  # then content fills in


def test_trust_is_max_trust_times_shoppers_over_shoppers_plus_shrink() -> None:
    data = _shop()
    model = SimilarItemsRecommender(shrink=10.0, max_trust=0.8).fit(data)
    for item, shoppers in (("boot-0", 1), ("boot-1", 200), ("sock-0", 200)):  # background views avoid items 0 and 1
        index = int(data.item_ids.index(item))  # type: ignore[arg-type]
        assert model.trust_[index] == pytest.approx(0.8 * shoppers / (shoppers + 10.0))
    untouched = np.asarray(data.interactions().sum(axis=0)).ravel() == 0
    assert np.all(model.trust_[untouched] == 0.0)
    no_shrink = SimilarItemsRecommender(shrink=0.0, max_trust=0.6).fit(data)
    assert set(np.unique(no_shrink.trust_)) <= {0.0, 0.6}


@pytest.mark.parametrize("params", [{"shrink": -1.0}, {"shrink": float("nan")}, {"max_trust": 1.5}, {"max_trust": -0.1},
                                    {"neighbours": 0}, {"category_weight": -1.0}])
def test_bad_parameters_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        SimilarItemsRecommender(**params).fit(_shop())  # type: ignore[arg-type]


def test_the_engine_answers_similar_items_from_the_blend() -> None:
    from shoprec.ranking.engine import RecommendationEngine

    data = _shop()
    itemknn = ItemKNNRecommender(neighbours=20).fit(data)
    engine = RecommendationEngine.offline({"itemknn": itemknn, "similar_items": SimilarItemsRecommender().fit(data)}, data)
    assert engine.similarity_name == "similar_items"  # preferred over itemknn when the bundle has both
    similar = [r.item_id for r in engine.similar("boot-0", 5)]
    assert len(similar) == 5 and all(item.startswith("boot-") for item in similar) and "boot-0" not in similar


def test_the_score_is_its_two_parts_and_explanations_name_them() -> None:
    from shoprec.models.similar_items import PARTS
    from shoprec.ranking.engine import RecommendationEngine

    data = _shop()
    model = SimilarItemsRecommender().fit(data)
    boot = int(data.item_ids.index("boot-1"))  # type: ignore[arg-type]
    history = Histories.from_lists([[(boot, VIEW, T0)]])
    items = np.arange(data.n_items)
    parts = model.parts(history, items)
    assert set(parts) == set(PARTS)
    np.testing.assert_allclose(parts[PARTS[0]] + parts[PARTS[1]], model.score(history, items), rtol=1e-6)  # scores are float32

    engine = RecommendationEngine.offline({"similar_items": model}, data)
    sock, *boots = engine.similar("boot-1", 3, explain=True)
    by_model = {r.model: r for r in sock.reasons}
    assert sock.item_id == "sock-0" and by_model[PARTS[0]].contribution > by_model[PARTS[1]].contribution  # behaviour first
    assert "viewed by the same shoppers" in by_model[PARTS[0]].text
    for rec in boots:  # boots, by what they share with boot-1: leaf category, brand, and prices of 20-27 against 21
        content = next(r for r in rec.reasons if r.model == PARTS[1])
        assert "the same category (Boots)" in content.text and "the same brand (Stompa)" in content.text
    plain = engine.similar("boot-1", 3)
    assert [r.item_id for r in plain] == [sock.item_id, *(r.item_id for r in boots)] and not plain[0].reasons
