"""Personalised search: taste from the shopper's history, past search clicks, and the relevance guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shoprec.bundle import load_current, write_bundle
from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.data.store import Store
from shoprec.errors import ConfigError
from shoprec.models.registry import create
from shoprec.search.personalise import (
    PersonalSettings,
    QueryClicks,
    history_before,
    query_key,
    rerank,
    searches_followed_by_clicks,
    shopper_scores,
    tune_weights,
)

T0 = pd.Timestamp("2024-10-01 12:00", tz="UTC")


def events(rows: list[tuple[str, str, str, float, str | None]]) -> pd.DataFrame:
    """(user, item, event type, seconds after T0, query) rows as canonical events."""
    return pd.DataFrame({
        S.USER_ID: [r[0] for r in rows], S.ITEM_ID: [r[1] for r in rows], S.EVENT_TYPE: [r[2] for r in rows],
        S.TIMESTAMP: [T0 + pd.Timedelta(seconds=r[3]) for r in rows], S.SESSION_ID: None, S.VALUE: np.nan,
        S.QUERY: [r[4] for r in rows], S.REVIEW_TEXT: None,
    })


@pytest.fixture
def two_taste_shop(workspace: Path) -> Path:
    """Shoe lovers buy s1..s3 together, hat lovers h1..h3; an item-kNN bundle learns it."""
    rows = []
    for u in range(8):
        group = ["s1", "s2", "s3"] if u % 2 == 0 else ["h1", "h2", "h3"]
        rows += [(f"u{u}", item, "purchase", 10.0 * u + j, None) for j, item in enumerate(group)]
    frame = events(rows)
    store = Store(workspace)
    store.append_events(frame)
    store.append_events(events([("shoe-fan", "s1", "purchase", 500, None), ("hat-fan", "h1", "purchase", 500, None)]))
    store.close()
    dataset = Dataset.from_frames(frame)
    write_bundle(workspace, {"itemknn": create("itemknn", neighbours=5).fit(dataset)}, dataset)
    return workspace


def test_two_shoppers_with_different_histories_get_different_orders(two_taste_shop: Path) -> None:
    hits = [("h2", 1.0), ("s2", 0.97), ("s3", 0.95), ("h3", 0.94), ("x", 0.1)]
    ids = [i for i, _ in hits]
    store, bundle = Store(two_taste_shop), load_current(two_taste_shop)
    shoe = shopper_scores(store, bundle, "shoe-fan", ids)
    hat = shopper_scores(store, bundle, "hat-fan", ids)
    store.close()
    assert np.isnan(shoe[-1]) and np.isnan(hat[-1])  # "x" is unknown to the bundle
    assert shoe[1] > shoe[0] and hat[0] > hat[1]
    settings = PersonalSettings(weight=0.3, click_weight=0.0)
    shoe_order = [i for i, _ in rerank(hits, shoe, None, settings)]
    hat_order = [i for i, _ in rerank(hits, hat, None, settings)]
    assert shoe_order[:2] == ["s2", "s3"] and hat_order[:2] == ["h2", "h3"]
    assert shoe_order[-1] == hat_order[-1] == "x"  # far below: taste cannot lift it
    still = PersonalSettings(weight=0.0, click_weight=0.0)
    assert [i for i, _ in rerank(hits, shoe, None, still)] == ids == [i for i, _ in rerank(hits, hat, None, still)]


def test_a_big_relevance_lead_is_never_overturned() -> None:
    rng = np.random.default_rng(0)
    settings = PersonalSettings(weight=0.2, click_weight=0.1)
    for _ in range(200):
        relevance = np.sort(rng.random(12) * 10)[::-1]
        hits = [(f"i{j}", float(r)) for j, r in enumerate(relevance)]
        ranked = [i for i, _ in rerank(hits, rng.random(12), rng.integers(0, 5, 12).astype(float), settings)]
        lead = (relevance[:, None] - relevance[None, :]) / relevance.max()  # as shares of the best score
        for a, b in zip(*np.nonzero(lead > settings.protected_gap + 1e-12)):
            assert ranked.index(f"i{a}") < ranked.index(f"i{b}")
    assert settings.protected_gap == pytest.approx(0.3 / 0.8)


def test_only_the_first_depth_results_move() -> None:
    hits = [(f"i{j}", 10.0 - j) for j in range(6)]
    ranked = rerank(hits, np.array([0, 0, 0, 0, 0, 100.0]), None, PersonalSettings(weight=0.9, depth=3))
    assert [i for i, _ in ranked][3:] == ["i3", "i4", "i5"]


def test_clicks_after_a_search_are_credited_to_its_query() -> None:
    log = events([
        ("u1", "i1", "search", 0, "Red  SHOES"), ("u1", "i1", "click", 60, None), ("u1", "i1", "purchase", 100, None),
        ("u1", "i2", "click", 700, None),  # 700 s after the search: outside the 600 s window
        ("u2", "i3", "click", 30, None),  # u2 never searched
        ("u1", "i9", "search", 800, "hat"), ("u1", "i4", "add_to_cart", 810, None), ("u1", "i4", "view", 820, None),
    ])
    followed = searches_followed_by_clicks(log, window_seconds=600)
    got = sorted(zip(followed[S.USER_ID], followed[S.QUERY], followed[S.ITEM_ID]))
    assert got == [("u1", "hat", "i4"), ("u1", "red shoes", "i1")]
    clicks = QueryClicks(followed)
    assert clicks.counts("red shoes ", ["i1", "i2", "i4"]).tolist() == [1, 0, 0]
    assert query_key("Red  SHOES") == "red shoes"


def test_past_clicks_lift_an_item_for_the_same_query() -> None:
    hits = [("a", 1.0), ("b", 0.9), ("c", 0.0)]
    ranked = rerank(hits, None, np.array([0.0, 5.0, 0.0]), PersonalSettings(weight=0.0, click_weight=0.2))
    # a: 1.0; b: 0.9 + 0.2 * log(6)/log(6) = 1.1
    assert [i for i, _ in ranked] == ["b", "a", "c"]
    assert dict(ranked)["b"] == pytest.approx(1.1)


def test_tuning_picks_a_weight_when_taste_predicts_the_click() -> None:
    cases = pd.DataFrame({S.USER_ID: ["u1", "u2"], S.QUERY: ["q", "q"], S.ITEM_ID: ["e", "a"],
                          S.TIMESTAMP: [T0, T0]})
    hits = [("a", 1.0), ("e", 0.9), ("b", 0.2), ("c", 0.1), ("d", 0.0)]
    taste = {"u1": np.array([0, 1.0, 0, 0, 0]), "u2": np.array([1.0, 0, 0, 0, 0])}
    tuning = tune_weights(cases, lambda q: hits, lambda user, t, ids: taste[user], None,
                          weights=(0.0, 0.2), click_weights=(0.0,))
    table = tuning.table.set_index("weight")["ndcg"]
    assert table[0.0] == pytest.approx((1 / np.log2(3) + 1.0) / 2)  # e 2nd, a 1st
    # w = 0.2 for u1: e 0.8 * 0.9 + 0.2 * 1 = 0.92 beats a 0.8 * 1 + 0 = 0.8
    assert table[0.2] == pytest.approx(1.0) and tuning.settings.weight == 0.2


def test_history_before_cuts_at_the_search_time_and_settings_are_checked() -> None:
    from shoprec.data.history import Histories

    history = Histories.from_lists([[(1, 0, 100), (2, 0, 200), (3, 0, 300)]])
    assert history_before(history, 250).items.tolist() == [1, 2]
    with pytest.raises(ConfigError, match="weight"):
        PersonalSettings(weight=1.0)


def test_the_search_command_personalises_with_user(workspace: Path) -> None:
    """`shoprec search QUERY --user U`: two shoppers with different histories get different orders."""
    import json

    from click.testing import CliRunner

    from shoprec.cli import cli
    from shoprec.data.ingest import Source, ingest

    ids = ["s1", "s2", "s3", "h1", "h2", "h3"]
    titles = ["Summer running shoe", "Summer trail shoe", "Summer walking shoe", "Summer sun hat", "Summer straw hat",
              "Summer bucket hat"]
    items = pd.DataFrame({S.ITEM_ID: ids, S.TITLE: titles})
    rows = []
    for u in range(8):
        group = ids[:3] if u % 2 == 0 else ids[3:]
        rows += [(f"u{u}", item, "purchase", 10.0 * u + j, None) for j, item in enumerate(group)]
    rows += [("shoe-fan", "s1", "purchase", 500, None), ("hat-fan", "h1", "purchase", 500, None)]
    log = events(rows)
    store = Store(workspace)
    ingest(store, [Source.from_frames("items", "items", lambda: [items]), Source.from_frames("events", "events", lambda: [log])])
    store.close()
    dataset = Dataset.from_frames(log, items)
    write_bundle(workspace, {"itemknn": create("itemknn", neighbours=5).fit(dataset)}, dataset)
    runner = CliRunner()

    def top(user: str | None) -> list[str]:
        args = ["search", "summer", "--workspace", str(workspace), "--json", "--mode", "lexical", "--k", "6"] + (["--user", user] if user else [])
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        return [hit["item_id"] for hit in json.loads(result.stdout)["hits"]]

    plain, shoe, hat = top(None), top("shoe-fan"), top("hat-fan")
    assert sorted(plain) == sorted(shoe) == sorted(hat) == sorted(ids)
    assert set(shoe[:2]) <= {"s2", "s3"} and set(hat[:2]) <= {"h2", "h3"}  # what the shopper has not bought yet, alike
