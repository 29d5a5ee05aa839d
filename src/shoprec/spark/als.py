"""Implicit ALS on Spark MLlib, saved as the local engine's IALSRecommender.

Both solve Hu, Koren & Volinsky's weighted least squares with confidence c = 1 + alpha * w and
preference 1 on touched cells, so `factors`, `alpha` and `iterations` carry over as `rank`,
`alpha` and `maxIter`. Regularisation differs: the local engine (implicit) adds
`regularization * I` to every user's and item's system, MLlib adds `regParam * n * I`, n being the
user's (item's) number of interactions (ALS-WR). MLlib runs with

    regParam = regularization * (active users + active items) / (2 * interactions),

the value at which both penalties add up to the same total when every factor vector has the same
norm. The saved model keeps the local hyperparameters, so a history is folded in with
`regularization` exactly as for a locally trained model (docs/spark.md gives the measured quality).
"""

from __future__ import annotations

import numpy as np
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shoprec.models.ials import IALSRecommender
from shoprec.spark.counts import item_totals
from shoprec.spark.fitted import fitted
from shoprec.spark.prepare import ITEM, USER, WEIGHT, SparkSnapshot

CHECKPOINT_EVERY = 5  # iterations between cuts of ALS's lineage


def reg_param(regularization: float, n_users: int, n_items: int, n_interactions: int) -> float:
    """MLlib's regParam for the local engine's `regularization` (see the module docstring)."""
    if n_interactions < 1:
        raise ValueError(f"n_interactions must be >= 1, got {n_interactions}")
    return float(regularization) * (n_users + n_items) / (2.0 * n_interactions)


def fit_ials(snapshot: SparkSnapshot, interactions: DataFrame, model: IALSRecommender) -> IALSRecommender:
    """`model` fitted by MLlib's implicit ALS on `interactions` (columns USER, ITEM, WEIGHT)."""
    model._check_params()
    sizes = interactions.agg(F.countDistinct(USER).alias("users"), F.countDistinct(ITEM).alias("items"),
                             F.count(F.lit(1)).alias("cells")).first()
    assert sizes is not None  # an aggregate without grouping always has one row
    # One block of users and of items per core: MLlib's default of 10 each only adds tasks on a
    # small cluster, and the blocks do not change what is solved.
    blocks = max(1, interactions.sparkSession.sparkContext.defaultParallelism)
    als = ALS(
        numUserBlocks=blocks, numItemBlocks=blocks, rank=int(model.factors), maxIter=int(model.iterations), alpha=float(model.alpha), implicitPrefs=True,
        regParam=reg_param(model.regularization, sizes["users"], sizes["items"], sizes["cells"]),
        userCol=USER, itemCol=ITEM, ratingCol=WEIGHT, seed=int(model.seed), nonnegative=False,
        checkpointInterval=CHECKPOINT_EVERY,  # used when the context has a checkpoint folder (train.checkpoints)
    ).fit(interactions)
    item_factors = np.zeros((snapshot.n_items, int(model.factors)), dtype=np.float32)
    learned = als.itemFactors.toPandas()
    if len(learned):
        item_factors[learned["id"].to_numpy(np.int64)] = np.stack(list(learned["features"])).astype(np.float32)
    gram = item_factors.astype(np.float64).T @ item_factors.astype(np.float64)
    return fitted(model, snapshot.n_items, snapshot.weights, item_factors_=item_factors, gram_=gram,
                  popularity_=item_totals(interactions, snapshot.n_items).astype(np.float32))
