"""The store read by Spark, and the interaction table every model is fitted on.

The same definitions as the local engine, step for step:

- events: the store's Parquet segments plus the live log's rows not yet compacted, exact repeats
  merged by their content hash (`Store.read_events`; ingest already merges repeats within segments);
- ids: users and items are numbered in sorted order of their external ids, over the catalogue
  and users tables and the events (`IdMap.from_values` in `Dataset.from_frames`);
- weights: each event counts its type's weight (`WeightConfig`), decayed by
  `0.5 ** (age_days / half_life_days)` when the workspace sets a half-life, the age measured from
  the latest event (`Histories.event_weights`);
- interactions: per (user, item), the sum of the positive event weights (`Dataset.interactions`).

Everything stays distributed; only the item ids (for the bundle) and a few counts reach the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from shoprec.config import WeightConfig
from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.data.history import MS_PER_DAY
from shoprec.data.idmap import IdMap
from shoprec.data.store import Store
from shoprec.errors import DataError, ShoprecError

# Columns of the prepared tables (the canonical names where there is one).
USER = "user"  # user index, int
ITEM = "item"  # item index, int
TIMESTAMP_MS = "timestamp_ms"  # epoch milliseconds, UTC
WEIGHT = "weight"  # an event's or an interaction's weight, double

_RAW_EVENTS = T.StructType([
    T.StructField(S.USER_ID, T.StringType(), False),
    T.StructField(S.ITEM_ID, T.StringType(), False),
    T.StructField(S.EVENT_TYPE, T.StringType(), False),
    T.StructField(TIMESTAMP_MS, T.LongType(), False),
    # Spark reads Parquet's unsigned 64-bit integers as decimal(20, 0).
    T.StructField(S.EVENT_HASH, T.DecimalType(20, 0), False),
])


@dataclass(frozen=True)
class SparkSnapshot:
    """The events as Spark holds them (indexed, one row per distinct event) and what a bundle
    records about them: the item id map, the weight configuration and the summary counts.

    `events` has columns USER, ITEM, schema.EVENT_TYPE and TIMESTAMP_MS.
    """

    events: DataFrame
    item_ids: IdMap
    n_users: int
    weights: WeightConfig
    counts: dict[str, object]
    last_event_ms: int

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def summary(self) -> dict[str, object]:
        """The counts `Dataset.summary` gives for the same events."""
        return dict(self.counts)


# --------------------------------------------------------------------- reading the store
def read_store(spark: SparkSession, workspace: Path, weights: WeightConfig | None = None) -> tuple[SparkSnapshot, int]:
    """The workspace's events, users and items as Spark sees them, and the store manifest version read."""
    store = Store(workspace)
    try:
        manifest = store.manifest()
        segments = store.event_segment_paths(manifest)
        live = store.with_live(S.STORED_EVENT_SCHEMA.empty_table().to_pandas(), manifest)
        tables = {kind: store.root / name for kind, name in (("users", manifest.users), ("items", manifest.items)) if name}
    finally:
        store.close()
    parts = [_segment_events(spark, segments)] if segments else []
    if len(live):
        parts.append(_live_events(spark, live))
    if not parts:
        raise ShoprecError(f"the store in {workspace} holds no events: run 'shoprec ingest' or 'shoprec generate' first")
    raw = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    # Kept: the ids of both maps are read from it, then it is indexed.
    events = raw.dropDuplicates([S.EVENT_HASH]).drop(S.EVENT_HASH).persist()
    users, n_users = index_ids(spark, _ids(spark, events, tables.get("users"), S.USER_ID), S.USER_ID, USER)
    items, n_items = index_ids(spark, _ids(spark, events, tables.get("items"), S.ITEM_ID), S.ITEM_ID, ITEM)
    item_ids = IdMap([row[S.ITEM_ID] for row in items.orderBy(ITEM).select(S.ITEM_ID).collect()])
    if len(item_ids) != n_items:
        raise ShoprecError(f"item ids: indexed {n_items:,} but gathered {len(item_ids):,}")
    indexed = (events.join(users, S.USER_ID).join(F.broadcast(items), S.ITEM_ID)
               .select(USER, ITEM, S.EVENT_TYPE, TIMESTAMP_MS).persist())
    snapshot = _snapshot(indexed, item_ids, n_users, weights or WeightConfig.for_workspace(Path(workspace)))
    for frame in (events, users, items):
        frame.unpersist()
    return snapshot, manifest.version


def _segment_events(spark: SparkSession, paths: list[Path]) -> DataFrame:
    frame = spark.read.parquet(*(str(p) for p in paths))
    return frame.select(
        S.USER_ID, S.ITEM_ID, S.EVENT_TYPE,
        F.unix_millis(F.col(S.TIMESTAMP)).alias(TIMESTAMP_MS),
        F.col(S.EVENT_HASH).cast(T.DecimalType(20, 0)).alias(S.EVENT_HASH),
    )


def _live_events(spark: SparkSession, live: pd.DataFrame) -> DataFrame:
    """The live log's rows (few by design: compaction moves them into segments), shipped from the driver."""
    stamps = pd.to_datetime(live[S.TIMESTAMP], utc=True).dt.as_unit("ms").astype("int64")
    rows = [
        (str(u), str(i), str(t), int(ms), Decimal(int(h)))
        for u, i, t, ms, h in zip(live[S.USER_ID], live[S.ITEM_ID], live[S.EVENT_TYPE], stamps, live[S.EVENT_HASH],
                                  strict=True)
    ]
    return spark.createDataFrame(rows, _RAW_EVENTS)


def _ids(spark: SparkSession, events: DataFrame, table: Path | None, column: str) -> DataFrame:
    """The ids in `column` of the events and of the users or items table (when the store has one)."""
    ids = events.select(column)
    return ids if table is None else ids.unionByName(spark.read.parquet(str(table)).select(column))


def index_ids(spark: SparkSession, ids: DataFrame, column: str, index_column: str) -> tuple[DataFrame, int]:
    """Each distinct value of `column` with its position in sorted order (0..n-1), and n (persisted).

    IdMap.from_values's numbering without gathering the ids in one place: after a global sort each
    partition holds a sorted, contiguous run, so a value's index is its row within its partition
    plus the sizes of the partitions before it. Spark orders strings by their UTF-8 bytes, which is
    the code point order numpy sorts Python strings in.
    """
    # Persisted, so that the offsets and the join below read the same numbering.
    ordered = (ids.where(F.col(column).isNotNull()).distinct().orderBy(column)
               .select(column, F.spark_partition_id().alias("_part"), F.monotonically_increasing_id().alias("_row"))
               .persist())
    parts = ordered.groupBy("_part").agg(F.min("_row").alias("_first"), F.count(F.lit(1)).alias("_size")).collect()
    offsets, total = [], 0
    for part in sorted(parts, key=lambda p: p["_part"]):
        offsets.append((int(part["_part"]), int(part["_first"]), total))
        total += int(part["_size"])
    if total >= 2**31:
        raise ShoprecError(f"{column}: {total:,} distinct ids, more than Spark's ALS can index (2^31 - 1)")
    table = spark.createDataFrame(offsets, "_part int, _first long, _offset long")
    indexed = ordered.join(F.broadcast(table), "_part").select(
        column, (F.col("_row") - F.col("_first") + F.col("_offset")).cast("int").alias(index_column)).persist()
    indexed.count()  # materialised before the numbering it was read from is let go
    ordered.unpersist()
    return indexed, total


def _snapshot(events: DataFrame, item_ids: IdMap, n_users: int, weights: WeightConfig) -> SparkSnapshot:
    """Counts like `Dataset.summary`, checking every event type is a canonical one."""
    by_type = {row[S.EVENT_TYPE]: int(row["count"]) for row in events.groupBy(S.EVENT_TYPE).count().collect()}
    unknown = sorted(set(by_type) - set(S.EVENT_TYPES), key=str)
    if unknown:
        raise DataError(f"unknown event type {unknown[0]!r} in the store, expected one of {', '.join(S.EVENT_TYPES)}",
                        field=S.EVENT_TYPE)
    span = events.agg(F.min(TIMESTAMP_MS).alias("first"), F.max(TIMESTAMP_MS).alias("last")).first()
    assert span is not None  # an aggregate without grouping always has one row
    counts: dict[str, object] = {
        "users": n_users,
        "items": len(item_ids),
        "events": sum(by_type.values()),
        "events_by_type": {name: by_type[name] for name in S.EVENT_TYPES if by_type.get(name)},
        "first_event": _iso(span["first"]),
        "last_event": _iso(span["last"]),
    }
    return SparkSnapshot(events, item_ids, n_users, weights, counts, int(span["last"]))


def _iso(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()


# --------------------------------------------------------------------- a Dataset on Spark
def snapshot_of_dataset(spark: SparkSession, dataset: Dataset) -> SparkSnapshot:
    """A Dataset's events (already indexed) on Spark: to fit on a split's train side, as evaluation does."""
    if dataset.n_events == 0:
        raise ShoprecError("the dataset holds no events: nothing to train on")
    frame = pd.DataFrame({
        USER: dataset.event_users.astype(np.int32),
        ITEM: dataset.event_items.astype(np.int32),
        S.EVENT_TYPE: np.asarray(S.EVENT_TYPES, dtype=object)[dataset.event_types.astype(np.int64)],
        TIMESTAMP_MS: dataset.timestamps.astype(np.int64),
    })
    events = spark.createDataFrame(frame, f"{USER} int, {ITEM} int, {S.EVENT_TYPE} string, {TIMESTAMP_MS} long")
    return SparkSnapshot(events.persist(), dataset.item_ids, dataset.n_users, dataset.weights, dataset.summary(),
                         int(dataset.timestamps.max()))


# --------------------------------------------------------------------- weights and interactions
def type_weight(weights: WeightConfig) -> Column:
    """Each event's type weight (0 for a type the configuration gives none)."""
    pairs = [F.lit(x) for name in S.EVENT_TYPES for x in (name, float(weights.weight_of(name)))]
    return F.coalesce(F.create_map(*pairs)[F.col(S.EVENT_TYPE)], F.lit(0.0))


def age_days(reference_ms: int) -> Column:
    """Days between each event and `reference_ms` (negative for an event after it)."""
    return (F.lit(reference_ms) - F.col(TIMESTAMP_MS)) / F.lit(MS_PER_DAY)


def event_weight(weights: WeightConfig, reference_ms: int) -> Column:
    """Each event's weight: its type weight, decayed by age when the configuration has a half-life."""
    weight = type_weight(weights)
    if weights.half_life_days is None:
        return weight
    return weight * F.pow(F.lit(0.5), F.greatest(age_days(reference_ms), F.lit(0.0)) / F.lit(weights.half_life_days))


def interactions(snapshot: SparkSnapshot) -> DataFrame:
    """The users x items table of summed positive event weights: columns USER, ITEM, WEIGHT."""
    weighted = snapshot.events.select(USER, ITEM, event_weight(snapshot.weights, snapshot.last_event_ms).alias(WEIGHT))
    return weighted.where(F.col(WEIGHT) > 0).groupBy(USER, ITEM).agg(F.sum(WEIGHT).alias(WEIGHT))
