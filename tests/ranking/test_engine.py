"""The engine's rules, fallback chain, cold start and explanations on the known shop (see conftest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from shoprec.bundle import load_current
from shoprec.data.store import Store
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.filters import ItemFilters
from shoprec.ranking.rules import RuleSettings
from tests.ranking.conftest import shop_events, shop_items

KITCHEN_USERS = [f"u{u:02d}" for u in range(30)]
EVENING = int(pd.Timestamp("2024-03-25 20:00", tz="UTC").value // 1_000_000)


@pytest.fixture
def engine(trained: Path):
    store = Store(trained)
    yield RecommendationEngine(store, load_current(trained))
    store.close()


def history_items(user: str, event_type: str | None = None) -> set[str]:
    events = shop_events()
    mine = events[events["user_id"] == user]
    return set(mine["item_id"] if event_type is None else mine[mine["event_type"] == event_type]["item_id"])


def test_a_shopper_with_no_history_gets_a_full_list_of_popular_items(engine):
    recs = engine.recommend("somebody-new", 10, explain=True)
    assert len(recs) == 10
    assert {r.source for r in recs} == {"popular"}
    assert all(r.reasons for r in recs)
    assert "k5" not in {r.item_id for r in recs}  # out of stock


def test_every_list_is_full_while_eligible_items_remain(engine):
    for user in ["u00", "u31", "nobody"]:
        eligible = 16 - len(history_items(user) | {"k5"})  # 16 items; k5 out of stock, seen ones excluded
        recs = engine.recommend(user, 16)
        assert len(recs) == eligible
        assert len({r.item_id for r in recs}) == eligible


def test_out_of_stock_items_are_never_recommended_unless_allowed(engine, trained):
    for user in KITCHEN_USERS[:10]:
        assert "k5" not in {r.item_id for r in engine.recommend(user, 16)}
    store = Store(trained)
    try:
        relaxed = RecommendationEngine(store, engine.bundle, RuleSettings(in_stock_only=False, exclude_event_types=()))
        assert "k5" in {r.item_id for r in relaxed.recommend("u00", 16)}
    finally:
        store.close()


def test_seen_items_are_excluded_by_event_type(engine, trained):
    user = next(u for u in KITCHEN_USERS if history_items(u, "purchase") and history_items(u) - history_items(u, "purchase"))
    assert not {r.item_id for r in engine.recommend(user, 16)} & history_items(user)
    store = Store(trained)
    try:
        only_purchases = RecommendationEngine(store, engine.bundle, RuleSettings(exclude_event_types=("purchase",)))
        recs = {r.item_id for r in only_purchases.recommend(user, 16)}
    finally:
        store.close()
    assert not recs & history_items(user, "purchase")
    assert (history_items(user) - history_items(user, "purchase") - {"k5"}) <= recs  # viewed-only ones come back


def test_filters_restrict_the_answer_and_the_fallback_keeps_it_full(engine):
    garden = engine.recommend("u00", 5, filters=ItemFilters(category="Home > Garden"))
    assert len(garden) == 5 and all(r.category == "Home > Garden" for r in garden)
    cheap = engine.recommend("u00", 16, filters=ItemFilters(price_max=21.0))
    assert cheap and all(r.price is not None and r.price <= 21.0 for r in cheap)
    brand = engine.recommend("u31", 3, filters=ItemFilters(brand="GLOWCO"))
    assert [r.brand for r in brand] == ["glowco"] * 3


def test_a_deleted_item_is_never_recommended(trained, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(trained, copy)
    store = Store(copy)
    try:
        with store.writing() as manifest:
            store.write_table(manifest, "items", shop_items().query("item_id != 'g0'"))
        engine = RecommendationEngine(store, load_current(copy))
        for user in ["u31", "u40", "nobody"]:
            assert "g0" not in {r.item_id for r in engine.recommend(user, 16)}
    finally:
        store.close()


def test_a_new_item_without_interactions_is_reachable_through_content(engine):
    kitchen_fans = [u for u in KITCHEN_USERS if len(history_items(u)) >= 4]
    via_content = [{r.item_id for r in engine.recommend(u, 3, model="content")} for u in kitchen_fans]
    assert sum("k_new" in recs for recs in via_content) >= len(kitchen_fans) // 2
    via_itemknn = [{r.item_id for r in engine.recommend(u, 3, model="itemknn")} for u in kitchen_fans]
    assert not any("k_new" in recs for recs in via_itemknn)  # no co-occurrence: only content finds it


@pytest.mark.parametrize("model", ["itemknn", "content", "fusion:rrf"])
def test_one_or_two_events_give_item_to_item_and_content_results_at_once(engine, model):
    recs = engine.recommend("first-visit", 5, history_items=["g1"], model=model)
    assert all(r.category == "Home > Garden" for r in recs)
    recs = engine.recommend("second-visit", 3, history_items=["k1", "k2"], model=model)
    assert all(r.category == "Home > Kitchen" for r in recs)
    assert {r.source for r in recs} == {"personal"}


def test_explanations_name_real_items_and_models(engine):
    models = set(engine.bundle.models) | {"item", "user", "context", "match", "timing"}
    titles = dict(zip(shop_items()["item_id"], shop_items()["title"], strict=True))
    for user in ["u00", "u35"]:
        mine = {titles[i] for i in history_items(user)}
        for rec in engine.recommend(user, 10, explain=True):
            assert rec.reasons, rec
            for reason in rec.reasons:
                assert reason.model is None or reason.model in models
                if reason.text.startswith(("because you", "often bought with")):
                    quoted = reason.text.split("“", 1)[1].rstrip("”")
                    assert quoted in mine


def test_diversity_caps_each_category(engine, trained):
    store = Store(trained)
    try:
        capped = RecommendationEngine(store, engine.bundle, RuleSettings(diversity="cap", max_per_category=1))
        personal = [r for r in capped.recommend("u00", 3) if r.source == "personal"]
        mmr = RecommendationEngine(store, engine.bundle, RuleSettings(diversity="mmr", mmr_lambda=0.1))
        spread = mmr.recommend("u00", 3)
    finally:
        store.close()
    pool = engine.recommend("u00", 9)  # MMR picks from the personal top 3k
    assert len({r.category for r in personal}) == len(personal)
    assert len({r.category for r in spread}) == min(3, len({r.category for r in pool}))
    assert len({r.category for r in spread}) > len({r.category for r in engine.recommend("u00", 3)})


def test_context_aware_popularity_follows_the_time_of_day(engine):
    evening = [r.item_id for r in engine.recommend("stranger", 5, now_ms=EVENING)]
    morning = [r.item_id for r in engine.recommend("stranger", 5, now_ms=EVENING - 11 * 3_600_000)]
    assert sum(i.startswith("d") for i in evening) > sum(i.startswith("d") for i in morning)


def test_similar_items_and_because_you_viewed(engine):
    similar = engine.similar("k1", 4)
    assert "k1" not in {r.item_id for r in similar} and "k5" not in {r.item_id for r in similar}
    assert all(r.category == "Home > Kitchen" for r in similar[:3])
    anchor, recs = engine.because_you_viewed("u31", 3)
    assert anchor in history_items("u31")
    assert recs and not {r.item_id for r in recs} & history_items("u31")
    other, _ = engine.because_you_viewed("u31", 3, besides=[anchor])  # an item page's own item is left out
    assert other is not None and other != anchor and other in history_items("u31")
    assert engine.because_you_viewed("u31", 3, besides=sorted(history_items("u31")))[0] is None
