"""Synthetic shoppers and what they do: taste clusters, users, sessions and their events.

Everything per event is vectorised numpy. Events are made in fixed-size blocks, each with its own
random stream derived from (seed, block), so the log is the same however a caller chunks it.
Within a session a shopper browses a few items (mostly from the taste cluster's departments, often
staying in one aisle), sometimes after a search or a click on a listing, puts a few in the cart,
and at checkout removes some and buys others; a purchase is sometimes rated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shoprec.data import schema as S
from shoprec.data.synthetic.catalog import QUERY_STYLES, Catalog, id_labels
from shoprec.data.synthetic.vocabulary import Vocabulary

MS_PER_SECOND, MS_PER_HOUR, MS_PER_DAY = 1_000, 3_600_000, 86_400_000
BLOCK_EVENTS = 250_000  # events made per random stream; fixed so chunking never changes the log

# Share of a session's department draws that come from the cluster's own departments.
CLUSTER_LOYALTY = 0.72
STAY_IN_AISLE = 0.45  # a view stays in the session's focus leaf
STAY_IN_DEPARTMENT = 0.7  # otherwise it stays in the session's department
REVISIT = 0.12  # a view goes back to the previous item
MEAN_VIEWS = 5.5
SEARCH_RATE, CLICK_RATE = 0.07, 0.3  # per view
CART_RATE = 0.075  # per view, before price and stock
PURCHASE_RATE = 0.33  # per cart
REMOVE_RATE = 0.2  # per cart not bought
RATING_RATE = 0.2  # per purchase
RATING_SHARES = np.array([0.04, 0.06, 0.15, 0.33, 0.42])  # stars 1..5
# Slot columns, in the order a shopper does them around one viewed item.
SLOT_TYPES = ("search", "click", "view", "add_to_cart", "remove_from_cart", "purchase", "rating")
SLOT_CODE = np.array([S.EVENT_TYPE_CODE[t] for t in SLOT_TYPES], dtype=np.int64)

# Evening peak, quiet nights (index = hour of day, in the shop's clock).
HOUR_WEIGHTS = np.array(
    [0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.8, 0.9, 0.95, 1.0,
     1.1, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.55, 1.7, 1.6, 1.2, 0.7]
)
WEEKDAY_WEIGHTS = np.array([0.92, 0.9, 0.93, 0.97, 1.05, 1.22, 1.18])  # Monday first


def day_weights(start: pd.Timestamp, days: int, lang: str) -> np.ndarray:
    """Relative traffic of each day: weekly rhythm, slow growth, and the shopping holidays."""
    dates = pd.date_range(start, periods=days, freq="D")
    month, day = dates.month.to_numpy(), dates.day.to_numpy()
    weight = WEEKDAY_WEIGHTS[dates.day_of_week.to_numpy()] * np.linspace(1.0, 1.15, days)
    if lang == "zh":
        weight[(month == 11) & (day < 11)] *= 1.4  # Singles' Day pre-sales
        weight[(month == 11) & (day == 11)] *= 4.0
        weight[(month == 12) & (day == 12)] *= 2.0  # Double 12
        weight[(month == 6) & (day < 18)] *= 1.2  # the 618 festival
        weight[(month == 6) & (day == 18)] *= 2.5
        return weight
    # Black Friday is the day after the fourth Thursday of November (the 23rd..29th).
    november = month == 11
    black_friday = november & (dates.day_of_week.to_numpy() == 4) & (day >= 23) & (day <= 29)
    # The week before builds up; the weekend after stays busy; Cyber Monday is the 3rd day after.
    for offset, factor in ((-4, 1.2), (-3, 1.2), (-2, 1.25), (-1, 1.3), (0, 2.8), (1, 1.7), (2, 1.6), (3, 2.3)):
        around = np.flatnonzero(black_friday) + offset
        weight[around[(around >= 0) & (around < days)]] *= factor
    december = month == 12
    weight[december & (day <= 22)] *= 1.15 + 0.35 * (day[december & (day <= 22)] - 1) / 21  # Christmas run-up
    weight[december & (day == 24)] *= 0.8
    weight[december & (day == 25)] *= 0.6
    weight[december & (day == 26)] *= 1.5  # Boxing Day sales
    return weight


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=np.float64)
    return cdf / cdf[-1]


def _segment_cdf(weights: np.ndarray, segment: np.ndarray, n_segments: int) -> np.ndarray:
    """Cumulative share of each column within its segment, per row (rows: clusters).

    `segment` is non-decreasing; the last column of each non-empty segment is exactly 1, and a
    segment of zero weight is all 1 so that it can never be drawn.
    """
    total = np.zeros((weights.shape[0], n_segments))
    np.add.at(total.T, segment, weights.T)
    cum = np.cumsum(weights, axis=1)
    before = cum - weights  # cumulative weight before each column
    starts = np.searchsorted(segment, np.arange(n_segments))
    base = before[:, np.minimum(starts, weights.shape[1] - 1)]  # cumulative weight before each segment
    with np.errstate(invalid="ignore", divide="ignore"):
        within = (cum - base[:, segment]) / total[:, segment]
    within = np.where(total[:, segment] > 0, np.clip(within, 0.0, 1.0), 1.0)
    last = np.r_[segment[1:] != segment[:-1], True]
    within[:, last] = 1.0
    return within


def _draw(flat: np.ndarray, row: np.ndarray, segment: np.ndarray, width: int, n_segments: int, u: np.ndarray) -> np.ndarray:
    """Draw one column per event from the row's distribution restricted to a segment.

    `flat` holds row*n_segments + segment + within-segment CDF for every (row, column), ascending,
    so one binary search serves every row and segment at once.
    """
    key = row * n_segments + segment + np.minimum(u, 1.0 - 1e-9)
    return np.searchsorted(flat, key, side="right") - row * width


@dataclass(frozen=True)
class Shoppers:
    """Users, their taste clusters, and what the event sampler needs to know about them."""

    users: pd.DataFrame  # schema.USER_COLUMNS
    taste_clusters: pd.DataFrame  # cluster, departments, brands, price_sensitivity
    cluster_of_user: np.ndarray
    price_sensitivity: np.ndarray  # per user; > 0 prefers cheaper items
    activity: np.ndarray  # per user, power-law
    item_weight: np.ndarray  # clusters x items: how much each cluster likes each item
    department_share: np.ndarray  # clusters x departments


def build_shoppers(rng: np.random.Generator, n_users: int, catalog: Catalog, vocab: Vocabulary) -> Shoppers:
    """Taste clusters (preferred departments, brands, price sensitivity) and the users in them."""
    n_depts = len(catalog.department_names)
    n_clusters = int(np.clip(n_users // 25, 2, 12))
    dept_of_item = catalog.department_of_item
    stocked = np.bincount(dept_of_item, weights=catalog.popularity, minlength=n_depts)
    global_share = stocked / stocked.sum()

    item_weight = np.empty((n_clusters, catalog.n_items))
    department_share = np.empty((n_clusters, n_depts))
    rows = []
    for c in range(n_clusters):
        # Two favourite departments (a main and a side interest) among those that have items.
        n_liked = min(2, int((stocked > 0).sum()))
        liked = rng.choice(n_depts, size=n_liked, replace=False, p=(stocked > 0) / (stocked > 0).sum())
        preference = np.zeros(n_depts)
        shares = np.array([0.65, 0.35])[:n_liked]
        preference[liked] = shares / shares.sum()
        department_share[c] = CLUSTER_LOYALTY * preference + (1 - CLUSTER_LOYALTY) * global_share
        brands = np.concatenate([rng.choice(np.flatnonzero(catalog.department_of_brand == d), 2, replace=False) for d in liked])
        sensitivity = rng.uniform(-0.5, 1.5)  # negative: a premium-seeking cluster
        boost = np.where(np.isin(catalog.brand_of_item, brands), 4.0, 1.0)
        item_weight[c] = catalog.popularity * boost * catalog.price_ratio ** (-0.8 * sensitivity)
        rows.append(
            {
                "cluster": f"cluster_{c}",
                "departments": [catalog.department_names[d] for d in liked],
                "brands": [catalog.brand_names[b] for b in brands],
                "price_sensitivity": round(float(sensitivity), 3),
            }
        )

    cluster_of_user = rng.integers(0, n_clusters, n_users)
    price_sensitivity = np.array([r["price_sensitivity"] for r in rows])[cluster_of_user] + rng.normal(0, 0.3, n_users)
    # Activity: Zipf over a random ranking of users, so a few heavy shoppers make many sessions.
    activity = (rng.permutation(n_users) + 1.0) ** -0.7
    users = _user_table(rng, cluster_of_user, price_sensitivity, n_clusters, vocab)
    return Shoppers(users, pd.DataFrame(rows), cluster_of_user, price_sensitivity, activity, item_weight, department_share)


def _user_table(
    rng: np.random.Generator, cluster: np.ndarray, sensitivity: np.ndarray, n_clusters: int, vocab: Vocabulary
) -> pd.DataFrame:
    n = len(cluster)
    # Clusters differ in who they are, so user attributes carry some of the taste signal.
    female_share, mean_age = rng.uniform(0.2, 0.8, n_clusters), rng.uniform(25, 50, n_clusters)
    age = np.clip(np.round(rng.normal(mean_age[cluster], 10.0)), 16, 85)
    age[rng.random(n) < 0.05] = np.nan  # not everyone says
    draw = rng.random(n)
    gender = np.where(draw < female_share[cluster], "female", "male").astype(object)
    gender[rng.random(n) < 0.03] = None
    city_share = _cdf(np.arange(1, len(vocab.cities) + 1, dtype=float) ** -0.8)
    location = np.array(vocab.cities, dtype=object)[np.searchsorted(city_share, rng.random(n), side="right")]
    level = np.where(sensitivity > 0.9, "high", np.where(sensitivity > 0.2, "medium", "low"))
    attributes = [json.dumps({"segment": f"cluster_{c}", "price_sensitivity": lv}) for c, lv in zip(cluster.tolist(), level.tolist())]
    table = pa.table(
        {
            S.USER_ID: pa.array(id_labels("u", np.arange(n), n), pa.string()),
            S.AGE: pa.array(age, pa.float64(), from_pandas=True),
            S.GENDER: pa.array(gender, pa.string()),
            S.LOCATION: pa.array(location, pa.string()),
            S.ATTRIBUTES: pa.array(attributes, pa.string()),
        },
        schema=S.USER_SCHEMA,
    )
    return table.to_pandas()


class SessionSampler:
    """Makes the event log block by block (see module docstring)."""

    def __init__(self, seed: int, catalog: Catalog, shoppers: Shoppers, start: pd.Timestamp, days: int, lang: str) -> None:
        self.seed, self.catalog, self.shoppers = seed, catalog, shoppers
        self.start_ms = int(start.value // 1_000_000)
        self.day_cdf = _cdf(day_weights(start, days, lang))
        self.hour_cdf = _cdf(HOUR_WEIGHTS)
        self.user_cdf = _cdf(shoppers.activity)
        n_clusters = shoppers.item_weight.shape[0]
        self.n_depts, self.n_leaves = len(catalog.department_names), len(catalog.leaf_paths)
        rows = np.arange(n_clusters)[:, None]
        # Three stacked draws per view: department, leaf within it, item within the leaf.
        self.dept_flat = (rows + np.cumsum(shoppers.department_share / shoppers.department_share.sum(1, keepdims=True), 1)).ravel()
        self.dept_flat.reshape(n_clusters, -1)[:, -1] = rows[:, 0] + 1.0
        leaf_weight = np.zeros((n_clusters, self.n_leaves))
        np.add.at(leaf_weight.T, catalog.leaf_of_item, shoppers.item_weight.T)
        leaf_within = _segment_cdf(leaf_weight, catalog.department_of_leaf, self.n_depts)
        self.leaf_flat = (rows * self.n_depts + catalog.department_of_leaf + leaf_within).ravel()
        item_within = _segment_cdf(shoppers.item_weight, catalog.leaf_of_item, self.n_leaves)
        self.item_flat = (rows * self.n_leaves + catalog.leaf_of_item + item_within).ravel()
        self.user_ids = pa.array(shoppers.users[S.USER_ID].to_numpy(), pa.string())
        self.item_ids = pa.array(catalog.item_ids, pa.string())
        self.event_types = pa.array(S.EVENT_TYPES, pa.string())

    def _department(self, rng: np.random.Generator, cluster: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.dept_flat, cluster + np.minimum(rng.random(len(cluster)), 1 - 1e-9), side="right") - cluster * self.n_depts

    def _leaf(self, rng: np.random.Generator, cluster: np.ndarray, dept: np.ndarray) -> np.ndarray:
        return _draw(self.leaf_flat, cluster, dept, self.n_leaves, self.n_depts, rng.random(len(cluster)))

    def _sessions(self, rng: np.random.Generator, n_sessions: int) -> dict[str, np.ndarray]:
        """Events of `n_sessions` sessions, as arrays in session then time order."""
        cat, users = self.catalog, self.shoppers
        user = np.searchsorted(self.user_cdf, rng.random(n_sessions), side="right")
        cluster = users.cluster_of_user[user]
        day = np.searchsorted(self.day_cdf, rng.random(n_sessions), side="right")
        hour = np.searchsorted(self.hour_cdf, rng.random(n_sessions), side="right")
        start = self.start_ms + day * MS_PER_DAY + hour * MS_PER_HOUR + rng.integers(0, MS_PER_HOUR, n_sessions)
        session_dept = self._department(rng, cluster)
        focus_leaf = self._leaf(rng, cluster, session_dept)

        n_views = np.minimum(rng.geometric(1.0 / MEAN_VIEWS, n_sessions), 60)
        session = np.repeat(np.arange(n_sessions), n_views)
        n_slots = len(session)
        first = np.r_[0, np.cumsum(n_views)[:-1]]
        is_first = np.zeros(n_slots, dtype=bool)
        is_first[first] = True
        c = cluster[session]
        dept = np.where(rng.random(n_slots) < STAY_IN_DEPARTMENT, session_dept[session], self._department(rng, c))
        leaf = np.where(rng.random(n_slots) < STAY_IN_AISLE, focus_leaf[session], self._leaf(rng, c, dept))
        item = _draw(self.item_flat, c, leaf, cat.n_items, self.n_leaves, rng.random(n_slots))
        revisit = (rng.random(n_slots) < REVISIT) & ~is_first
        item = item[np.maximum.accumulate(np.where(revisit, 0, np.arange(n_slots)))]

        # Time: each view follows the previous after a gap; checkout closes the session.
        gap = 5 * MS_PER_SECOND + rng.exponential(50 * MS_PER_SECOND, n_slots).astype(np.int64)
        elapsed = np.cumsum(gap)
        view_time = start[session] + elapsed - (elapsed[first] - gap[first])[session]
        last = np.r_[first[1:], n_slots] - 1
        checkout = view_time[last] + 60 * MS_PER_SECOND + rng.exponential(120 * MS_PER_SECOND, n_sessions).astype(np.int64)
        next_gap = np.r_[gap[1:], 0]
        next_gap[last] = (checkout - view_time[last])

        # The funnel: cart depends on price (per the shopper's sensitivity) and stock.
        sensitivity = users.price_sensitivity[user][session]
        p_cart = np.clip(CART_RATE * cat.price_ratio[item] ** (-0.5 * sensitivity), 0, 0.5) * cat.in_stock[item]
        flags = np.empty((n_slots, len(SLOT_TYPES)), dtype=bool)
        flags[:, 0] = (rng.random(n_slots) < SEARCH_RATE) & ~revisit
        flags[:, 1] = rng.random(n_slots) < CLICK_RATE
        flags[:, 2] = True
        flags[:, 3] = rng.random(n_slots) < p_cart
        bought = flags[:, 3] & (rng.random(n_slots) < PURCHASE_RATE)
        flags[:, 4] = flags[:, 3] & ~bought & (rng.random(n_slots) < REMOVE_RATE)
        flags[:, 5] = bought
        flags[:, 6] = bought & (rng.random(n_slots) < RATING_RATE)

        picked = np.flatnonzero(flags.ravel())
        slot, column = picked // len(SLOT_TYPES), picked % len(SLOT_TYPES)
        n = len(picked)
        u = rng.random(n)
        sess = session[slot]
        base = view_time[slot]
        # Offsets keep a slot's search and click between the previous view and this one, and a cart
        # before the next slot's search; removals and purchases happen at checkout.
        offset = np.select(
            [column == 0, column == 1, column == 3],
            [-(0.25 + 0.2 * u) * gap[slot], -(0.02 + 0.13 * u) * gap[slot], (0.1 + 0.4 * u) * next_gap[slot]],
            0.0,
        ).astype(np.int64)
        at_checkout = checkout[sess]
        time = np.select(
            [column == 4, column == 5, column == 6],
            [at_checkout - (2 + 18 * u) * MS_PER_SECOND, at_checkout + 10 * u * MS_PER_SECOND, at_checkout + (30 + 570 * u) * MS_PER_SECOND],
            base + offset,
        ).astype(np.int64)
        value = np.full(n, np.nan)
        rated = column == 6
        value[rated] = 1.0 + np.searchsorted(_cdf(RATING_SHARES), rng.random(int(rated.sum())), side="right")
        query = np.where(column == 0, item[slot] * QUERY_STYLES + rng.integers(0, QUERY_STYLES, n), -1)
        order = np.lexsort((column, time, sess))
        return {
            "session": sess[order], "user": user[sess][order], "item": item[slot][order],
            "code": SLOT_CODE[column][order], "time": time[order], "value": value[order], "query": query[order],
        }

    def block(self, index: int, n_events: int, first_session: int) -> tuple[pa.Table, int]:
        """Exactly `n_events` events of block `index` (the last session cut short if needed), with
        session ids numbered from `first_session`; returns the table and the sessions used."""
        rng = np.random.default_rng([self.seed, 2, index])
        parts: list[dict[str, np.ndarray]] = []
        made, sessions_made = 0, 0
        while made < n_events:
            # Slightly more sessions than the expected need; top up in the rare case that is short.
            wanted = int((n_events - made) / (MEAN_VIEWS * 1.45) * 1.1) + 4
            part = self._sessions(rng, wanted)
            part["session"] = part["session"] + sessions_made
            parts.append(part)
            made += len(part["time"])
            sessions_made += wanted
        events = {k: np.concatenate([p[k] for p in parts])[:n_events] for k in parts[0]}
        n_sessions = int(events["session"][-1]) + 1 if n_events else 0
        numbers = pa.array(np.arange(first_session, first_session + n_sessions)).cast(pa.string())
        session_ids = pc.binary_join_element_wise("s", pc.utf8_lpad(numbers, 9, "0"), "")
        value, query = events["value"], events["query"]
        table = pa.Table.from_arrays(
            [
                self.user_ids.take(events["user"]),
                self.item_ids.take(events["item"]),
                self.event_types.take(events["code"]),
                pa.array(events["time"], pa.timestamp("ms", tz="UTC")),
                session_ids.take(events["session"]),
                pa.array(value, pa.float64(), mask=np.isnan(value)),
                self.catalog.queries.take(pa.array(np.maximum(query, 0), mask=query < 0)),
                pa.nulls(n_events, pa.string()),
            ],
            schema=S.EVENT_SCHEMA,
        )
        return table, n_sessions
