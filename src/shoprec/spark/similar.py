"""Similar items (co-occurrence blended with content) for a bundle trained on Spark.

The co-occurrence part is item-kNN counted on Spark (shoprec.spark.counts); each item's distinct
shoppers and summed weight are summed on Spark; the content part (TF-IDF text, category, brand,
price bucket) is built on the driver from the catalogue table, as the content model builds it:
a catalogue is small beside the events. The result is the local engine's SimilarItemsRecommender,
so a Spark shop's item pages answer "similar items" as a local one's do.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from shoprec.data import schema as S
from shoprec.data.dataset import align_rows
from shoprec.models.base import Recommender
from shoprec.models.itemknn import ItemKNNRecommender
from shoprec.models.similar_items import SimilarItemsRecommender
from shoprec.spark.counts import fit_itemknn, item_totals, item_vector
from shoprec.spark.fitted import fitted
from shoprec.spark.prepare import SparkSnapshot


def fit_similar_items(snapshot: SparkSnapshot, interactions: DataFrame, catalogue: pd.DataFrame,
                      model: SimilarItemsRecommender, fitted_models: Iterable[Recommender] = ()) -> SimilarItemsRecommender:
    """`model` fitted from the interaction table (USER, ITEM, WEIGHT: one row per shopper and item,
    positive weights) and the store's catalogue table (any order; items without a row get no text,
    category, brand or price, as locally). An item-kNN among `fitted_models` with the
    co-occurrence part's settings lends its neighbours: the self-join is the costly job."""
    model._check_params()
    cooccurrence, content = model._components()
    same = [m for m in fitted_models if isinstance(m, ItemKNNRecommender) and m.get_params() == cooccurrence.get_params()]
    knn = same[0] if same else fit_itemknn(snapshot, interactions, cooccurrence)
    items = align_rows(catalogue.reindex(columns=list(S.ITEM_COLUMNS)), S.ITEM_ID, snapshot.item_ids)
    vectors, norms = content.vectors_of(items)
    shoppers = item_vector(interactions, snapshot.n_items, F.lit(1.0))  # one row per shopper and item
    state = model.state_of(knn.similarity_, vectors, norms, shoppers, item_totals(interactions, snapshot.n_items))
    return fitted(model, snapshot.n_items, snapshot.weights, **state)
