"""Learning search: the hybrid blend and the learned ranker, chosen on judged training queries.

Functions, not SearchEngine methods: each reads what it needs from an engine (candidates, the
semantic index, the ranker's features) and returns what it learned; the caller installs it
(`engine.hybrid = tuning.settings`, `engine.ranker = ranker`) and saves it. So serving objects
only score, and nothing learns on a query that was not given to it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.errors import ShoprecError
from shoprec.search.engine import SearchEngine, deep_hint
from shoprec.search.evaluation import mean_ndcg
from shoprec.search.hybrid import LEXICAL, SEMANTIC, BlendTuning, fuse_lists, tune_blend
from shoprec.search.judgments import by_query
from shoprec.search.ranker import SearchRanker, SearchRankerSettings
from shoprec.search.scored import Scored
from shoprec.search.text import MAX_QUERY_CHARS

_BATCH = 128  # queries embedded together (below the semantic query cache)


def tune_hybrid(engine: SearchEngine, judgments: pd.DataFrame, queries: Collection[str],
                lists: Mapping[str, Mapping[str, Scored]] | None = None) -> BlendTuning:
    """The fusion to use, chosen on `queries` (training queries only): the tuned blend, or
    reciprocal rank fusion when that scores higher on those same queries. `lists`: the queries'
    `engine.candidates_for`, when already computed."""
    if engine.semantic is None:
        raise ShoprecError(f"tuning the hybrid blend needs semantic search: {deep_hint()}")
    training = judgments[judgments[S.QUERY].isin(set(queries))]
    wanted = set(training[S.QUERY])
    lists = {q: v for q, v in (lists or engine.candidates_for(wanted)).items() if q in wanted}
    tuning = tune_blend(lists, training, engine.hybrid)
    rrf = replace(tuning.settings, method="rrf")
    rrf_ndcg = mean_ndcg({q: [i for i, _ in fuse_lists(lists[q], rrf)] for q in lists}, training)
    best_blend = float(tuning.table["ndcg"].max())
    chosen = tuning.settings if best_blend >= rrf_ndcg else rrf
    table = pd.concat([tuning.table, pd.DataFrame([{"normalisation": "rrf", "blend_weight": np.nan,
                                                    "ndcg": rrf_ndcg}])], ignore_index=True)
    return BlendTuning(chosen, table)


def train_ranker(engine: SearchEngine, judgments: pd.DataFrame, queries: Collection[str],
                 settings: SearchRankerSettings | None = None,
                 lists: Mapping[str, Mapping[str, Scored]] | None = None) -> SearchRanker:
    """The learned ranker fitted on the judged `queries` (their hybrid candidates through `engine`).
    `lists`: the queries' `engine.candidates_for`, when already computed."""
    if engine.semantic is None:
        raise ShoprecError(f"the learned search ranker needs semantic search: {deep_hint()}")
    judged = by_query(judgments)
    wanted = sorted(q for q in set(queries) if q in judged)
    lists = lists or engine.candidates_for(wanted)
    groups = []
    for position, query in enumerate(wanted):
        if position % _BATCH == 0:  # the features' cosines read the query embeddings: batch them
            engine.semantic.embed_queries([q[:MAX_QUERY_CHARS] for q in wanted[position:position + _BATCH]])
        ids, features = engine.features.build(query, lists[query][LEXICAL], lists[query][SEMANTIC])
        groups.append((features, np.array([judged[query].get(i, np.nan) for i in ids], dtype=np.float64)))
    return SearchRanker(settings).fit(groups)
