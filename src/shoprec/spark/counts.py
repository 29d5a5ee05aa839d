"""Counts on Spark: popularity, the cold-start context popularity and item co-occurrence (item-kNN).

Each is summed over the events or the interaction table on Spark; only per-item results (one
score per item, or an item's best neighbours) reach the driver, where they become the same model
entries the local engine writes: PopularityRecommender, ContextPopularity, ItemKNNRecommender.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from shoprec.data.history import MS_PER_DAY
from shoprec.models.itemknn import ItemKNNRecommender
from shoprec.models.popularity import PopularityRecommender
from shoprec.ranking.cold_start import N_DAYPARTS, ContextPopularity
from shoprec.spark.fitted import fitted
from shoprec.spark.prepare import ITEM, TIMESTAMP_MS, USER, WEIGHT, SparkSnapshot, age_days, type_weight

NEIGHBOUR = "neighbour"
SIMILARITY = "similarity"
MS_PER_HOUR = 3_600_000
# 1970-01-01, day 0 of epoch time, was a Thursday: weekday 3 counting Monday as 0 (as pandas does).
EPOCH_WEEKDAY = 3


def item_vector(frame: DataFrame, n_items: int, value: Column, *, key: str = ITEM) -> np.ndarray:
    """A float64 vector over items of `value` summed per item (0 for items without rows)."""
    out = np.zeros(n_items)
    sums = frame.groupBy(key).agg(F.sum(value).alias("_sum")).toPandas()
    out[sums[key].to_numpy(np.int64)] = sums["_sum"].to_numpy(np.float64)
    return out


def item_totals(interactions: DataFrame, n_items: int) -> np.ndarray:
    """Each item's summed interaction weight (the fallback score of ials and itemknn)."""
    return item_vector(interactions, n_items, F.col(WEIGHT))


# --------------------------------------------------------------------- popularity
def fit_popularity(snapshot: SparkSnapshot, model: PopularityRecommender) -> PopularityRecommender:
    """PopularityRecommender's item scores summed on Spark (its own window and half-life, from the latest event)."""
    model._check_params()
    weight = type_weight(snapshot.weights)
    if not model.weighted:
        weight = (weight > 0).cast("double")
    age = age_days(snapshot.last_event_ms)
    if model.window_days is not None:
        weight = weight * (age <= F.lit(float(model.window_days))).cast("double")
    if model.half_life_days is not None:
        weight = weight * F.pow(F.lit(0.5), age / F.lit(float(model.half_life_days)))
    scores = item_vector(snapshot.events, snapshot.n_items, weight)
    return fitted(model, snapshot.n_items, snapshot.weights, reference_time_ms_=snapshot.last_event_ms, item_scores_=scores)


def fit_context_popularity(snapshot: SparkSnapshot, model: ContextPopularity) -> ContextPopularity:
    """ContextPopularity's recent, decayed counts per item, daypart and weekday/weekend, summed on Spark."""
    model._check_params()
    age = age_days(snapshot.last_event_ms)
    decayed = type_weight(snapshot.weights) * F.pow(F.lit(0.5), age / F.lit(float(model.half_life_days)))
    daypart = F.least(F.floor(F.pmod(F.col(TIMESTAMP_MS), F.lit(MS_PER_DAY)) / F.lit(6 * MS_PER_HOUR)),
                      F.lit(N_DAYPARTS - 1)).cast("int")
    weekend = (F.pmod(F.floor(F.col(TIMESTAMP_MS) / F.lit(MS_PER_DAY)) + F.lit(EPOCH_WEEKDAY), F.lit(7)) >= 5).cast("int")
    cells = (snapshot.events.where(age <= F.lit(float(model.window_days)))
             .groupBy(ITEM, daypart.alias("daypart"), weekend.alias("weekend"))
             .agg(F.sum(decayed).alias(WEIGHT)).toPandas())
    n = snapshot.n_items
    items, weights = cells[ITEM].to_numpy(np.int64), cells[WEIGHT].to_numpy(np.float64)
    by_daypart, by_weekend = np.zeros((n, N_DAYPARTS)), np.zeros((n, 2))
    np.add.at(by_daypart, (items, cells["daypart"].to_numpy(np.int64)), weights)
    np.add.at(by_weekend, (items, cells["weekend"].to_numpy(np.int64)), weights)
    return fitted(model, n, snapshot.weights, recent_=by_daypart.sum(axis=1), by_daypart_=by_daypart,
                  by_weekend_=by_weekend, last_week_=item_vector(snapshot.events.where(age <= F.lit(7.0)), n, F.lit(1.0)))


# --------------------------------------------------------------------- item co-occurrence
def fit_itemknn(snapshot: SparkSnapshot, interactions: DataFrame, model: ItemKNNRecommender) -> ItemKNNRecommender:
    """ItemKNNRecommender's neighbour matrix from item co-occurrence counted on Spark.

    The similarity of items i and j is the sum over users of the product of their weighted cells,
    each item's column weighted as implicit's CosineRecommender (unit length) or BM25Recommender
    does; each item keeps its `neighbours` most similar other items (ties to the lower index).
    A user with n interactions adds n * (n - 1) pairs, so very long histories dominate the cost.
    """
    model._check_params()
    vectors = _weighted_columns(interactions, snapshot.n_items, model).persist()
    pairs = (vectors.alias("a").join(vectors.alias("b"), USER).where(F.col(f"a.{ITEM}") != F.col(f"b.{ITEM}"))
             .groupBy(F.col(f"a.{ITEM}").alias(ITEM), F.col(f"b.{ITEM}").alias(NEIGHBOUR))
             .agg(F.sum(F.col(f"a.{WEIGHT}") * F.col(f"b.{WEIGHT}")).alias(SIMILARITY))
             .where(F.col(SIMILARITY) != 0))
    rank = F.row_number().over(Window.partitionBy(ITEM).orderBy(F.desc(SIMILARITY), F.asc(NEIGHBOUR)))
    best = pairs.withColumn("_rank", rank).where(F.col("_rank") <= int(model.neighbours)).toPandas()
    vectors.unpersist()
    n = snapshot.n_items
    similarity = sp.csr_matrix(
        (best[SIMILARITY].to_numpy(np.float32), (best[ITEM].to_numpy(np.int64), best[NEIGHBOUR].to_numpy(np.int64))),
        shape=(n, n),
    )
    similarity.sort_indices()
    popularity = item_totals(interactions, n).astype(np.float32)
    return fitted(model, n, snapshot.weights, similarity_=similarity, popularity_=popularity)


def _weighted_columns(interactions: DataFrame, n_items: int, model: ItemKNNRecommender) -> DataFrame:
    """USER, ITEM, WEIGHT with each cell weighted as implicit's nearest_neighbours module does."""
    per_item = Window.partitionBy(ITEM)
    weight = F.col(WEIGHT)
    if model.similarity == "cosine":
        return interactions.select(USER, ITEM, (weight / F.sqrt(F.sum(weight * weight).over(per_item))).alias(WEIGHT))
    # BM25 over the items x users matrix: users are the terms (idf), items the documents (length).
    k1, b = float(model.bm25_k1), float(model.bm25_b)
    total = interactions.agg(F.sum(WEIGHT)).first()
    average_length = (total[0] if total is not None and total[0] is not None else 0.0) / n_items
    idf = F.lit(math.log(n_items)) - F.log1p(F.count(F.lit(1)).over(Window.partitionBy(USER)))
    length_norm = F.lit(1.0 - b) + F.lit(b) * F.sum(weight).over(per_item) / F.lit(average_length)
    value = weight * F.lit(k1 + 1.0) / (F.lit(k1) * length_norm + weight) * idf
    return interactions.select(USER, ITEM, value.alias(WEIGHT))
