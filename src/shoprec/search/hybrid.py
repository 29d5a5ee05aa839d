"""Hybrid search: the lexical and the semantic engine's top candidates fused into one list.

Each engine hands over its top N (100 by default) for the query; the lists go through the
project's fusion module (shoprec.ranking.fusion): a linear blend of min-max (or z-score)
normalised scores whose semantic weight is chosen on training queries (`tune_blend`, stored in
`<workspace>/search/hybrid.json`; 0.25 until tuned), or reciprocal rank fusion.

Why not RRF by default: on Home Depot RRF of lexical (0.383) and MiniLM (0.280) scores 0.364,
below lexical alone, because it gives the weaker engine an equal say; the blend weighted towards
the stronger one keeps its order and lets the other break its ties and fill its gaps (0.402).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoprec.data.idmap import IdMap
from shoprec.errors import ConfigError, ShoprecError
from shoprec.models.ranked import RankedList
from shoprec.ranking.fusion import NORMALISATIONS, fuse, gather
from shoprec.search.judgments import by_query
from shoprec.search.metrics import ndcg_at_k
from shoprec.search.scored import Scored

HYBRID_METHODS = ("rrf", "blend")
LEXICAL, SEMANTIC = "lexical", "semantic"
SETTINGS_FILE = Path("search") / "hybrid.json"
BLEND_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))



@dataclass(frozen=True)
class HybridSettings:
    """How the two engines' lists are fused.

    `candidates`: how many each engine hands over. `method`: "rrf" or "blend". `blend_weight`:
    the semantic share of the blend (lexical gets 1 - w). `semantic_floor`: a semantic hit
    joins the lexical matches only within this share of the best one's cosine (`above_floor`; 0
    keeps the whole top `candidates`; semantic mode alone always shows the whole top).
    `tuned_on`: how many training queries chose the blend (0: a default, never tuned).
    """

    # Untuned default: the blend with the weight tuned on Home Depot's training queries. RRF is
    # there as an option but scored below lexical alone there (0.364 vs 0.383, benchmarks.md).
    method: str = "blend"
    candidates: int = 100
    blend_weight: float = 0.25
    normalisation: str = "minmax"
    rrf_k: int = 60
    # Chosen on Home Depot's training queries: the largest floor (of 0.5-0.9) that keeps
    # recall@100 within 0.5% of no floor; NDCG@10 does not move (benchmarks.md, "Search result sets").
    semantic_floor: float = 0.75
    tuned_on: int = 0

    def __post_init__(self) -> None:
        if self.method not in HYBRID_METHODS:
            raise ConfigError(f"hybrid method must be one of {', '.join(HYBRID_METHODS)}, got {self.method!r}")
        if self.candidates < 1:
            raise ConfigError(f"candidates must be at least 1, got {self.candidates}")
        if not 0.0 <= self.blend_weight <= 1.0:
            raise ConfigError(f"blend_weight must be between 0 and 1, got {self.blend_weight}")
        if not 0.0 <= self.semantic_floor <= 1.0:
            raise ConfigError(f"semantic_floor must be between 0 and 1, got {self.semantic_floor}")
        if self.normalisation not in NORMALISATIONS:
            raise ConfigError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {self.normalisation!r}")

    def save(self, workspace: Path) -> Path:
        """Write to `<workspace>/search/hybrid.json`."""
        path = Path(workspace) / SETTINGS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, workspace: Path) -> HybridSettings:
        """The workspace's settings, or the defaults when none were saved."""
        path = Path(workspace) / SETTINGS_FILE
        if not path.exists():
            return cls()
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ShoprecError(f"{path}: unreadable hybrid settings: {exc}") from exc
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def fuse_lists(lists: Mapping[str, Sequence[tuple[str, float]]], settings: HybridSettings) -> Scored:
    """The engines' lists (source name -> (item id, score) best first) fused by `settings.method`.

    Item ids are mapped to indices for the fusion module through an IdMap of their sorted union,
    so ties fall to the smaller id whatever order the lists came in.
    """
    present = {name: list(hits) for name, hits in lists.items() if len(hits)}
    if not present:
        return []
    ids = IdMap.from_values([item for hits in present.values() for item, _ in hits])
    ranked = {name: RankedList(ids.index_of([i for i, _ in hits]), np.array([s for _, s in hits], np.float64))
              for name, hits in present.items()}
    candidates = gather(ranked)
    if settings.method == "rrf":
        fused = fuse(candidates, "rrf", rrf_k=settings.rrf_k)
    else:
        weights = {LEXICAL: 1.0 - settings.blend_weight, SEMANTIC: settings.blend_weight}
        fused = fuse(candidates, "weighted", weights={k: v for k, v in weights.items() if k in present},
                     normalisation=settings.normalisation)
    return [(str(i), float(s)) for i, s in zip(ids.id_of(fused.items), fused.scores)]


def above_floor(semantic: Scored, floor: float) -> Scored:
    """The semantic hits (best first) whose score is within `floor` of the best one's: at least
    `floor` times it for a positive best (a cosine of 0.6 with floor 0.75 keeps those from 0.45).
    A floor of 0 keeps them all."""
    if not semantic or floor <= 0.0:
        return list(semantic)
    best = semantic[0][1]
    cut = best - (1.0 - floor) * abs(best)
    return [(item, score) for item, score in semantic if score >= cut]


@dataclass(frozen=True)
class BlendTuning:
    """The blend chosen on training queries and the mean NDCG of every setting tried."""

    settings: HybridSettings
    table: pd.DataFrame  # columns normalisation, blend_weight, ndcg


def tune_blend(lists_by_query: Mapping[str, Mapping[str, Sequence[tuple[str, float]]]], judgments: pd.DataFrame,
               base: HybridSettings | None = None, *, grid: Sequence[float] = BLEND_GRID,
               normalisations: Sequence[str] = ("minmax", "zscore"), k: int = 10) -> BlendTuning:
    """Choose the blend weight and normalisation maximising mean NDCG@k over the given queries.

    `lists_by_query` holds each training query's engine lists (from `candidate_lists`); only
    these queries' judgments are read, so the queries scored later must not be among them.
    Ties go to the smaller semantic weight.
    """
    judged = by_query(judgments)
    queries = [q for q in lists_by_query if q in judged]
    if not queries:
        raise ShoprecError("tuning the blend needs training queries with judgments")
    base = replace(base or HybridSettings(), method="blend")
    rows = []
    for normalisation in normalisations:
        for weight in grid:
            trial = replace(base, blend_weight=float(weight), normalisation=normalisation)
            scores = [ndcg_at_k([i for i, _ in fuse_lists(lists_by_query[q], trial)], judged[q], k) for q in queries]
            values = [s for s in scores if s is not None]
            rows.append((normalisation, float(weight), float(np.mean(values)) if values else 0.0))
    table = pd.DataFrame(rows, columns=["normalisation", "blend_weight", "ndcg"])
    best = table.sort_values(["ndcg", "blend_weight"], ascending=[False, True], kind="stable").iloc[0]
    chosen = replace(base, blend_weight=float(best["blend_weight"]), normalisation=str(best["normalisation"]),
                     tuned_on=len(queries))
    return BlendTuning(chosen, table)
