"""The synthetic shop: shape of the tables, determinism, and that the planted behaviour is there."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from shoprec.data import schema as S
from shoprec.data.synthetic import ShopSpec, SyntheticShop, generate_shop, write_shop_files
from shoprec.data.synthetic import files as synthetic_files
from shoprec.errors import ConfigError

SPEC = ShopSpec(users=400, items=600, events=80_000, seed=7)
# More events than one generation block, and a count that is no round number.
MULTI_BLOCK_SPEC = ShopSpec(users=150, items=200, events=260_003, seed=3)
ZH_SPEC = ShopSpec(users=300, items=400, events=60_000, seed=11, lang="zh")
CJK = re.compile(r"[\u4e00-\u9fff]")
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return generate_shop(SPEC)


@pytest.fixture(scope="module")
def events(shop: SyntheticShop) -> pd.DataFrame:
    return shop.events()


@pytest.fixture(scope="module")
def zh_shop() -> SyntheticShop:
    return generate_shop(ZH_SPEC)


def department(categories: pd.Series) -> pd.Series:
    return categories.str.split(S.CATEGORY_SEPARATOR, regex=False).str[0]


def assert_matches_schema(frame: pd.DataFrame, schema: pa.Schema) -> None:
    assert list(frame.columns) == schema.names
    for field in schema:
        dtype = frame[field.name].dtype
        if pa.types.is_string(field.type):
            assert pd.api.types.is_string_dtype(dtype), (field.name, dtype)
        elif pa.types.is_timestamp(field.type):
            assert str(dtype) == "datetime64[ms, UTC]", (field.name, dtype)
        elif pa.types.is_floating(field.type):
            assert dtype == np.float64, (field.name, dtype)
        elif pa.types.is_boolean(field.type):
            assert dtype == np.bool_, (field.name, dtype)
    converted = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    assert converted.schema.equals(schema, check_metadata=False)


def test_counts_and_ids(shop: SyntheticShop, events: pd.DataFrame) -> None:
    assert len(shop.items) == SPEC.items and len(shop.users) == SPEC.users and len(events) == SPEC.events
    assert shop.items[S.ITEM_ID].is_unique and shop.users[S.USER_ID].is_unique
    assert shop.items[S.ITEM_ID].str.fullmatch(r"i\d{6}").all()
    assert shop.users[S.USER_ID].str.fullmatch(r"u\d{6}").all()
    assert events[S.ITEM_ID].isin(shop.items[S.ITEM_ID]).all()
    assert events[S.USER_ID].isin(shop.users[S.USER_ID]).all()
    assert events[S.EVENT_TYPE].isin(S.EVENT_TYPES).all()


def test_tables_match_the_canonical_schema(shop: SyntheticShop, events: pd.DataFrame) -> None:
    assert_matches_schema(shop.items, S.ITEM_SCHEMA)
    assert_matches_schema(shop.users, S.USER_SCHEMA)
    assert_matches_schema(events, S.EVENT_SCHEMA)
    for chunk in shop.event_chunks(chunk_size=30_000):
        assert_matches_schema(chunk, S.EVENT_SCHEMA)


def test_same_spec_same_shop(shop: SyntheticShop, events: pd.DataFrame) -> None:
    again = generate_shop(SPEC)
    pd.testing.assert_frame_equal(again.items, shop.items)
    pd.testing.assert_frame_equal(again.users, shop.users)
    pd.testing.assert_frame_equal(again.events(), events)
    other = generate_shop(ShopSpec(users=SPEC.users, items=SPEC.items, events=SPEC.events, seed=SPEC.seed + 1))
    assert not other.items[S.TITLE].equals(shop.items[S.TITLE])
    assert not other.events()[S.ITEM_ID].equals(events[S.ITEM_ID])


def test_chunk_size_does_not_change_the_events() -> None:
    shop = generate_shop(MULTI_BLOCK_SPEC)
    small = list(shop.event_chunks(chunk_size=77_777))
    assert [len(c) for c in small[:-1]] == [77_777] * (len(small) - 1)
    whole = pd.concat(shop.event_chunks(chunk_size=10_000_000), ignore_index=True)
    assert len(whole) == MULTI_BLOCK_SPEC.events
    pd.testing.assert_frame_equal(pd.concat(small, ignore_index=True), whole)
    assert whole[S.SESSION_ID].is_monotonic_increasing  # ids keep counting across blocks


def test_sessions_are_in_time_order_and_the_funnel_is_consistent(events: pd.DataFrame) -> None:
    by_session = events.groupby(S.SESSION_ID, sort=False)
    assert by_session[S.TIMESTAMP].apply(lambda t: t.is_monotonic_increasing).all()
    assert (by_session[S.USER_ID].nunique() == 1).all()
    first_cart = events[events[S.EVENT_TYPE] == "add_to_cart"].groupby([S.SESSION_ID, S.ITEM_ID])[S.TIMESTAMP].min()
    purchases = events[events[S.EVENT_TYPE] == "purchase"].set_index([S.SESSION_ID, S.ITEM_ID])[S.TIMESTAMP]
    carted_at = first_cart.reindex(purchases.index)
    assert carted_at.notna().all() and (carted_at <= purchases).all()
    start, end = SPEC.start_time, SPEC.start_time + pd.Timedelta(days=SPEC.days + 1)
    assert events[S.TIMESTAMP].min() >= start and events[S.TIMESTAMP].max() < end


def test_funnel_rates_are_plausible(events: pd.DataFrame) -> None:
    counts = events[S.EVENT_TYPE].value_counts()
    assert 0.04 <= counts["add_to_cart"] / counts["view"] <= 0.12
    assert 0.2 <= counts["purchase"] / counts["add_to_cart"] <= 0.45
    assert counts["view"] > 0.5 * len(events)
    for occasional in ("click", "remove_from_cart", "rating", "search"):
        assert 0 < counts[occasional] < counts["view"]
    ratings = events.loc[events[S.EVENT_TYPE] == "rating", S.VALUE]
    assert ratings.between(1, 5).all() and (ratings == ratings.round()).all() and ratings.mean() > 3.5
    assert events.loc[events[S.EVENT_TYPE] != "rating", S.VALUE].isna().all()
    searches = events[S.EVENT_TYPE] == "search"
    assert events.loc[searches, S.QUERY].str.len().gt(0).all() and events.loc[~searches, S.QUERY].isna().all()


def test_search_queries_come_from_the_item_words(shop: SyntheticShop, events: pd.DataFrame) -> None:
    searches = events[events[S.EVENT_TYPE] == "search"].merge(shop.items[[S.ITEM_ID, S.TITLE]], on=S.ITEM_ID)
    # Every query shares at least one word with the title of the item clicked after it.
    shared = [bool(set(q.split()) & set(t.lower().replace(",", " ").split())) for q, t in zip(searches[S.QUERY], searches[S.TITLE])]
    assert np.mean(shared) > 0.95


def test_prices_are_log_normal_around_a_category_median(shop: SyntheticShop) -> None:
    items = shop.items
    assert (items[S.PRICE] > 0).all()
    log_price = np.log(items[S.PRICE])
    deviation = log_price - log_price.groupby(items[S.CATEGORY]).transform("median")
    assert abs(deviation.median()) < 0.05 and 0.25 < deviation.std() < 0.9
    assert abs(stats.skew(deviation)) < 0.6  # symmetric in logs ...
    ratio = np.exp(deviation)
    assert stats.skew(ratio) > 0.8 and ratio.mean() > ratio.median()  # ... so skewed to the right in money
    medians = items.groupby(S.CATEGORY)[S.PRICE].median()
    assert 3 < items[S.PRICE].median() < 300 and medians.max() / medians.min() > 20


def test_catalogue_words_and_structure(shop: SyntheticShop) -> None:
    items = shop.items
    assert items[S.CATEGORY].map(lambda c: len(S.category_levels(c))).eq(3).all()
    assert items[S.CATEGORY].nunique() > 30 and department(items[S.CATEGORY]).nunique() >= 6
    brand_departments = items.groupby(S.BRAND)[S.CATEGORY].apply(lambda c: department(c).nunique())
    assert (brand_departments == 1).all()  # brands belong to one department
    assert items[S.TITLE].nunique() > 0.8 * len(items)
    assert all(row[S.BRAND] in row[S.TITLE] for _, row in items.iterrows())
    sentences = items[S.DESCRIPTION].str.count(r"\.")
    assert sentences.between(1, 3).all() and sentences.nunique() == 3
    attributes = items[S.ATTRIBUTES].map(json.loads)
    assert attributes.map(lambda a: isinstance(a, dict) and "material" in a).all()
    assert 0.9 < items[S.IN_STOCK].mean() < 0.99


def test_popularity_and_activity_are_skewed(events: pd.DataFrame, shop: SyntheticShop) -> None:
    views = events.loc[events[S.EVENT_TYPE] == "view", S.ITEM_ID].value_counts()
    views = views.reindex(shop.items[S.ITEM_ID], fill_value=0).sort_values(ascending=False)
    assert views.iloc[: len(views) // 10].sum() / views.sum() > 0.35
    sessions = events.groupby(S.USER_ID)[S.SESSION_ID].nunique().sort_values(ascending=False)
    assert sessions.iloc[: SPEC.users // 10].sum() / sessions.sum() > 0.25


def test_users_shop_in_their_taste_clusters(shop: SyntheticShop, events: pd.DataFrame) -> None:
    segment = shop.users.set_index(S.USER_ID)[S.ATTRIBUTES].map(lambda a: json.loads(a)["segment"])
    liked = shop.taste_clusters.set_index("cluster")["departments"]
    views = events[events[S.EVENT_TYPE] == "view"]
    view_dept = department(views[S.ITEM_ID].map(shop.items.set_index(S.ITEM_ID)[S.CATEGORY]))
    user_liked = views[S.USER_ID].map(segment).map(liked)
    in_cluster = np.array([d in likes for d, likes in zip(view_dept, user_liked)])
    dept_share = view_dept.value_counts(normalize=True)
    chance = np.array([dept_share.reindex(likes).sum() for likes in user_liked])
    assert 0.65 < in_cluster.mean() < 0.9
    assert in_cluster.mean() > 1.8 * chance.mean()


def test_weekly_daily_and_holiday_rhythm(events: pd.DataFrame, zh_shop: SyntheticShop) -> None:
    ts = events[S.TIMESTAMP]
    per_day = ts.dt.floor("D").value_counts()
    weekday = per_day.index.day_of_week
    assert per_day[weekday >= 5].median() > 1.1 * per_day[weekday <= 3].median()
    per_hour = ts.dt.hour.value_counts()
    assert per_hour[[19, 20, 21]].mean() > 4 * per_hour[[2, 3, 4]].mean()
    november = per_day[per_day.index.month == 11]
    assert per_day[pd.Timestamp("2024-11-29", tz="UTC")] > 1.8 * november.median()  # Black Friday
    assert per_day[pd.Timestamp("2024-12-02", tz="UTC")] > 1.5 * november.median()  # Cyber Monday
    zh_day = zh_shop.events()[S.TIMESTAMP].dt.floor("D").value_counts()
    assert zh_day.idxmax() == pd.Timestamp("2024-11-11", tz="UTC")  # Singles' Day
    assert zh_day.max() > 2.5 * zh_day[zh_day.index.month == 10].median()


def test_chinese_shop_speaks_chinese(zh_shop: SyntheticShop) -> None:
    items, users = zh_shop.items, zh_shop.users
    for column in (S.TITLE, S.DESCRIPTION, S.CATEGORY):
        assert items[column].str.contains(CJK).all(), column
    assert users[S.LOCATION].dropna().str.contains(CJK).all()
    titles = items[S.TITLE]
    assert titles.str.contains("蓝牙耳机").any()
    assert titles.str.contains("无线蓝牙耳机 降噪").any()  # a later search test looks for it with "蓝牙耳机"
    for everyday in ("手机", "耳机", "连衣裙", "运动鞋"):
        assert titles.str.contains(everyday).any(), everyday
    queries = zh_shop.events()[S.QUERY].dropna()
    assert len(queries) > 0 and queries.str.contains(CJK).all()


@pytest.mark.parametrize("file_format", ["csv", "parquet", "jsonl"])
def test_files_round_trip(file_format: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic_files, "WRITE_CHUNK_EVENTS", 1_500)  # several chunks per file
    shop = generate_shop(ShopSpec(users=50, items=80, events=5_000, seed=5))
    paths = write_shop_files(shop, tmp_path / "shop", file_format)
    assert set(paths) == {"items", "users", "events"}
    assert all(p.name == f"{kind}.{file_format}" and p.exists() for kind, p in paths.items())
    read = {
        "csv": lambda p: pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""]),
        "parquet": lambda p: pd.read_parquet(p),
        "jsonl": lambda p: pd.read_json(p, lines=True, dtype=False),
    }[file_format]
    items, users, events = read(paths["items"]), read(paths["users"]), read(paths["events"])
    expected = shop.events()
    assert list(items[S.ITEM_ID]) == list(shop.items[S.ITEM_ID])
    assert list(users[S.USER_ID]) == list(shop.users[S.USER_ID])
    assert len(events) == len(expected) and list(events[S.ITEM_ID]) == list(expected[S.ITEM_ID])
    assert list(events[S.SESSION_ID]) == list(expected[S.SESSION_ID])
    assert list(items[S.CATEGORY]) == list(shop.items[S.CATEGORY])
    assert items[S.ATTRIBUTES].map(json.loads).map(lambda a: "material" in a).all()
    if file_format == "parquet":
        assert pq.read_schema(paths["events"]).equals(S.EVENT_SCHEMA, check_metadata=False)
        pd.testing.assert_series_equal(events[S.TIMESTAMP], expected[S.TIMESTAMP])
    else:
        assert events[S.TIMESTAMP].str.fullmatch(ISO_MS).all()
        back = pd.to_datetime(events[S.TIMESTAMP], utc=True).dt.as_unit("ms")
        assert (back.to_numpy() == expected[S.TIMESTAMP].to_numpy()).all()


def test_an_empty_log_still_writes_complete_files(tmp_path) -> None:
    shop = generate_shop(ShopSpec(users=5, items=10, events=0))
    assert list(shop.event_chunks()) == []
    paths = write_shop_files(shop, tmp_path, "csv")
    assert list(pd.read_csv(paths["events"]).columns) == list(S.EVENT_COLUMNS)


@pytest.mark.parametrize("bad", [{"users": 0}, {"events": -1}, {"lang": "fr"}, {"start": "not a date"}, {"seed": -1}])
def test_bad_specs_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError):
        ShopSpec(**bad)
