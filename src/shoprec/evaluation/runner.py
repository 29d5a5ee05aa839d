"""Fit models on a split's train side and measure their recommendations on its test side.

Models are scored through `Recommender.recommend` on each test user's train history, the same
call the service makes with the history it reads at request time: what is measured is what is
served. Rules (docs/evaluation.md):

- a test user is one with at least one target event in test;
- their relevant set is the distinct items of those target events, less (by default) the items
  they already have in train, because those are excluded from their recommendations and so
  could never be hit; users left with no relevant item are skipped and counted;
- each model is fitted in place on `split.train` (so the caller keeps the fitted models).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shoprec import progress
from shoprec.atomic import write_atomic
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.evaluation.metrics import evaluate_lists, item_categories, item_self_information
from shoprec.evaluation.splits import Split
from shoprec.models.base import Recommender, event_type_codes, seen_items
from shoprec.models.ranked import RankedList
from shoprec.ranking.rules import RuleSettings

if TYPE_CHECKING:
    from shoprec.ranking.engine import RecommendationEngine

# Removing from cart or searching says nothing about wanting an item.
NON_TARGET_EVENT_TYPES = (S.EventType.REMOVE_FROM_CART.value, S.EventType.SEARCH.value, S.EventType.RETURN.value)
DEFAULT_TARGET_EVENT_TYPES = tuple(t for t in S.EVENT_TYPES if t not in NON_TARGET_EVENT_TYPES)
# K values drawn in the metric-against-K plot (those up to the largest evaluated K).
CURVE_KS = (1, 5, 10, 20, 50, 100)
# What `evaluate` measures: the engine's answers (what a shopper is shown) or each model's own.
STAGES = ("engine", "model")
# Scoring works on users x items float32 blocks; this caps one block at about 80 MB.
MAX_BATCH_CELLS = 20_000_000


@dataclass(frozen=True)
class EvaluationTask:
    """Who is evaluated, from which history, against which items."""

    users: np.ndarray  # user indices of evaluated users
    histories: Histories  # their train histories, in `users` order
    exclude: list[np.ndarray] | None  # items each may not be recommended (seen in train), or None
    relevant: list[np.ndarray]  # distinct relevant items of each
    counts: dict[str, int]
    request_times: np.ndarray  # each user's first test event (epoch ms): when they would ask


@dataclass
class EvaluationResult:
    """Per-model metrics and timings, with the dataset and split they were measured on."""

    dataset: dict[str, Any]
    split: dict[str, Any]
    results: dict[str, dict[str, float]]
    ks: tuple[int, ...]
    # model -> metric@K at every K of the metric-against-K plot (a superset of `results`' keys).
    curves: dict[str, dict[str, float]] = field(default_factory=dict)
    # model -> its repr (class and hyperparameters), for the report.
    models: dict[str, str] = field(default_factory=dict)
    # What fusion learned on validation: validation NDCG per entry, weights, ranker importances.
    fusion: dict[str, Any] = field(default_factory=dict)
    # Which answers were measured: "engine" (what a shopper is shown: rules, stock, diversity,
    # fallbacks) or "model" (each model's raw top k). With "engine", `model_stage` holds the raw
    # view's metrics at the same Ks, so the report can show what the engine's steps cost or gain.
    stage: str = "model"
    model_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    # Where whoever wrote this result put it ("json", "report", "run": the run's folder), for its messages.
    files: dict[str, Path] = field(default_factory=dict)

    def merge(self, other: EvaluationResult) -> None:
        """Add `other`'s models (measured on the same split) to this result."""
        if other.stage != self.stage:
            raise ValueError(f"cannot merge results of the {other.stage} stage into results of the {self.stage} stage")
        self.results.update(other.results)
        self.curves.update(other.curves)
        self.models.update(other.models)
        self.model_stage.update(other.model_stage)

    def to_dict(self) -> dict[str, Any]:
        """`{"dataset": {...}, "split": {...}, "stage": "engine" | "model", "results": {model: {"ndcg@10": ...,
        "train_seconds": ...}}}`, with `"model_stage": {model: {...}}` when the engine was measured.

        NaN (a metric with no user to average over) becomes null.
        """
        out: dict[str, Any] = {"dataset": self.dataset, "split": self.split, "stage": self.stage, "results": self.results}
        if self.model_stage:
            out["model_stage"] = self.model_stage
        if self.fusion:
            out["fusion"] = self.fusion
        return json_safe(out)

    def write_json(self, path: Path) -> None:
        """Write `to_dict()` as indented JSON."""
        write_atomic(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")


def json_safe(value: Any) -> Any:
    """`value` as JSON can hold it: keys as strings, numpy scalars as Python, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    checked = tuple(sorted({int(k) for k in ks}))
    if not checked or checked[0] < 1:
        raise ValueError(f"ks must be one or more integers >= 1, got {list(ks)}")
    return checked


def build_task(split: Split, target_event_types: Collection[str], exclude_seen: bool) -> EvaluationTask:
    """Test users, their train histories, exclusions and relevant sets."""
    test, n_items = split.test, max(split.test.n_items, 1)
    is_target = np.isin(test.event_types, event_type_codes(target_event_types))
    # Distinct (user, item) target pairs as one int64 key each, sorted by user then item.
    pairs = np.unique(test.event_users[is_target].astype(np.int64) * n_items + test.event_items[is_target])
    test_users = np.unique(pairs // n_items)
    histories = split.train.histories(test_users)
    seen = seen_items(histories)
    if exclude_seen:
        seen_users = np.repeat(test_users, [len(s) for s in seen])
        seen_keys = seen_users * n_items + np.concatenate([np.zeros(0, np.int64), *seen])
        pairs = pairs[~np.isin(pairs, seen_keys)]
    pair_users, pair_items = pairs // n_items, pairs % n_items
    bounds = np.searchsorted(pair_users, np.append(test_users, np.iinfo(np.int64).max))
    kept = np.nonzero(np.diff(bounds) > 0)[0]  # users with a relevant item left
    first_test = np.full(split.test.n_users, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_test, test.event_users, test.timestamps)
    counts = {
        "n_test_users": len(test_users),
        "n_evaluated_users": len(kept),
        "n_skipped_users": len(test_users) - len(kept),
        "n_cold_users": int(sum(len(s) == 0 for s in seen)),
    }
    return EvaluationTask(
        users=test_users[kept],
        histories=histories.select(kept),
        exclude=[seen[i] for i in kept] if exclude_seen else None,
        relevant=[pair_items[bounds[i]:bounds[i + 1]] for i in kept],
        counts=counts,
        request_times=first_test[test_users[kept]],
    )


def recommend_all(model: Recommender, task: EvaluationTask, k: int, batch_size: int, label: str) -> list[RankedList]:
    """`model.recommend` over the task's users in batches, with a progress bar."""
    def answer(rows: np.ndarray) -> list[RankedList]:
        exclude = None if task.exclude is None else [task.exclude[i] for i in rows]
        return model.recommend(task.histories.select(rows), k, exclude=exclude, now_ms=task.request_times[rows])

    return _in_batches(task, model.n_items_, batch_size, f"{label}: recommending", answer)


def engine_lists(engine: RecommendationEngine, name: str, task: EvaluationTask, k: int, batch_size: int) -> list[RankedList]:
    """What the engine answers each of the task's users with entry `name`, in batches, with a progress bar."""
    def answer(rows: np.ndarray) -> list[RankedList]:
        return engine.lists(task.histories.select(rows), k, model=name, now_ms=task.request_times[rows])

    return _in_batches(task, len(engine.catalogue), batch_size, f"{name}: recommending through the engine", answer)


def _in_batches(task: EvaluationTask, n_items: int, batch_size: int, label: str,
                answer: Callable[[np.ndarray], list[RankedList]]) -> list[RankedList]:
    """`answer(rows)` over the task's users, in batches of at most MAX_BATCH_CELLS users x items."""
    n = len(task.users)
    batch = max(1, min(batch_size, MAX_BATCH_CELLS // max(n_items, 1)))
    lists: list[RankedList] = []
    with progress.task(label, total=n, unit="users") as bar:
        for start in range(0, n, batch):
            rows = np.arange(start, min(start + batch, n))
            lists.extend(answer(rows))
            bar.advance(len(rows))
    return lists


def evaluate(
    models: Mapping[str, Recommender],
    split: Split,
    ks: Sequence[int] = (10, 20),
    target_event_types: Collection[str] | None = None,
    exclude_seen: bool = True,
    batch_size: int = 1000,
    prefitted: Collection[str] = (),
    stage: str = "model",
    rules: RuleSettings | None = None,
    engine_models: Mapping[str, Recommender] | None = None,
) -> EvaluationResult:
    """Fit each model on `split.train` and measure every metric at each K on `split.test`.

    `target_event_types=None` counts every event type except remove_from_cart and search.
    Models named in `prefitted` are already fitted on `split.train` (fusion entries over fitted
    members) and are not fitted again; their train time is reported as 0. `stage` "engine"
    measures what the recommendation engine answers (shoprec.ranking.engine: `rules`, stock,
    diversity, the fallback chain; default rules exclude what `exclude_seen` says), "model" each
    model's own top k; with "engine" the model stage is measured too (`model_stage`).
    `engine_models`: other entries of the bundle being imitated, fitted on `split.train` (the
    members of measured fusion entries; the engine's fallbacks use them), held but not measured.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    ks = _check_ks(ks)
    targets = DEFAULT_TARGET_EVENT_TYPES if target_event_types is None else tuple(sorted(set(target_event_types)))
    task = build_task(split, targets, exclude_seen)
    curve_ks = sorted({k for k in CURVE_KS if k <= ks[-1]} | set(ks))
    self_information = item_self_information(split.train)
    has_categories = split.train.items[S.CATEGORY].notna().any()
    categories = item_categories(split.train) if has_categories else None

    def measure(lists: list[RankedList], at: Sequence[int]) -> dict[str, float]:
        values = evaluate_lists(lists, task.relevant, at, n_items=split.train.n_items,
                                self_information=self_information, categories=categories)
        if categories is None:  # no category data: diversity is unmeasurable, reported as null
            values.update({f"diversity@{k}": float("nan") for k in at})
        return values

    train_seconds: dict[str, float] = {}
    for name, model in models.items():
        started = time.perf_counter()
        if name not in prefitted:
            model.fit(split.train)
        train_seconds[name] = time.perf_counter() - started
    engine = None
    if stage == "engine":
        from shoprec.ranking.engine import RecommendationEngine  # the engine imports the models' stack

        default_rules = RuleSettings(exclude_event_types=None if exclude_seen else ())
        engine = RecommendationEngine.offline({**models, **{n: m for n, m in (engine_models or {}).items() if n not in models}},
                                              split.train, rules or default_rules)
    results: dict[str, dict[str, float]] = {}
    curves: dict[str, dict[str, float]] = {}
    model_stage: dict[str, dict[str, float]] = {}
    wanted = {f"@{k}" for k in ks}
    for name, model in models.items():
        started = time.perf_counter()
        lists = (recommend_all(model, task, ks[-1], batch_size, name) if engine is None
                 else engine_lists(engine, name, task, ks[-1], batch_size))
        predict_seconds = time.perf_counter() - started
        curves[name] = measure(lists, curve_ks)
        results[name] = {key: v for key, v in curves[name].items() if key[key.index("@"):] in wanted}
        results[name].update(train_seconds=train_seconds[name], predict_seconds=predict_seconds)
        if engine is not None:
            model_stage[name] = measure(recommend_all(model, task, ks[-1], batch_size, f"{name} (model stage)"), ks)

    split_info = {
        **split.info,
        "target_event_types": list(targets),
        "exclude_seen": exclude_seen,
        "stage": stage,
        "ks": list(ks),
        **task.counts,
    }
    return EvaluationResult(
        dataset=dataset_counts(split),
        split=split_info,
        results=results,
        ks=ks,
        curves=curves,
        models={name: repr(model) for name, model in models.items()},
        stage=stage,
        model_stage=model_stage,
    )


def dataset_counts(split: Split) -> dict[str, Any]:
    """Users, items and events of the whole dataset and of each side."""
    return {
        "users": split.train.n_users,
        "items": split.train.n_items,
        "events": split.train.n_events + split.test.n_events,
        "train": split.train.summary(),
        "test": split.test.summary(),
    }
