"""Learning the fusion methods on a validation split, never on test.

`prepare_validation` carves a validation split out of the data it is given (the train side of
an evaluation split, or all stored data for a bundle) with the same protocol, fits clones of
the member models on its train side, and gathers and labels the validation users' candidates.
`learn_fusions` then, for each method, learns what it needs there (weights by coordinate
ascent; the LambdaMART ranker on candidate features, labelled by the events that followed),
measures every method and every member on the same validation users, and builds fusion
entries over the members fitted on all the data.

Validation NDCG of a learned method (weighted, ltr) is measured out of fold: the validation
users are split in folds, each scored by what was learned on the others, so that choosing the
default model does not favour a method for fitting its own validation data. The ranker's fold
models are also what it serves (`cross_fitted_ranker`): nothing is refitted after measuring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from shoprec import progress
from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.evaluation.runner import DEFAULT_TARGET_EVENT_TYPES, EvaluationTask, build_task
from shoprec.evaluation.splits import Split, validation_split
from shoprec.features.items import ItemFeatures
from shoprec.models.base import Recommender, event_type_codes
from shoprec.models.registry import create
from shoprec.ranking.batch_fusion import borda_points_batch, contributions_batch, filled_normalised_batch
from shoprec.ranking.candidates import DEFAULT_N_CANDIDATES, CandidateBatch, generate
from shoprec.ranking.fused import ALL_METHODS, LTR, FusionRecommender
from shoprec.ranking.ltr import BASE_WEIGHT_CHOICES, DEFAULT_GRADE, GRADE_OF_EVENT, LearnedRanker, RankerSettings
from shoprec.ranking.ltr_features import MODEL_SEPARATOR, build_features, feature_names
from shoprec.ranking.weights import LabelledBatch, learn_weights, ndcg_of_scores

VALIDATION_K = 10
# At most this many validation users teach the fusion methods (a seeded sample of the rest is
# left out). Learning costs grow with users x candidates: 14,457 users of a 1M-event shop made
# fusion learning 1,071 s, 11 times the members' fits (docs/benchmarks.md, "Time to value"). Every
# data set the quality tables measure has fewer (MovieLens 610 users, REES46 and the demo shop
# about 1,100 validation users), so their numbers do not depend on it.
MAX_VALIDATION_USERS = 2_000


@dataclass(frozen=True)
class Validation:
    """Validation users, their labelled candidates from members fitted on the validation train side."""

    split_info: dict[str, Any]
    dataset: Dataset  # the validation split's train side
    task: EvaluationTask
    batch: CandidateBatch
    labelled: LabelledBatch
    grades: np.ndarray  # (N,) 0 = not used next, else GRADE_OF_EVENT / DEFAULT_GRADE
    member_seconds: dict[str, float]


@dataclass
class FusionLearning:
    """Fitted fusion entries by method, and what was learned and measured on validation."""

    fusions: dict[str, FusionRecommender]
    validation: dict[str, float]  # model or fusion:<method> -> validation NDCG@10
    weights: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> learned weights
    importances: dict[str, float] = field(default_factory=dict)  # ltr feature -> share of gain
    info: dict[str, Any] = field(default_factory=dict)

    def best(self) -> str:
        """The model or fusion entry with the highest validation NDCG (ties: the first listed)."""
        finite = {name: v for name, v in self.validation.items() if v == v}
        return max(finite, key=lambda name: finite[name]) if finite else next(iter(self.validation))

    def to_dict(self) -> dict[str, Any]:
        return {"validation_ndcg@10": self.validation, "weights": self.weights, "ltr_importances": self.importances,
                "info": self.info}


def fit_members(settings: Mapping[str, Mapping[str, Any]], dataset: Dataset) -> dict[str, Recommender]:
    """Member models created from (name -> hyperparameters) and fitted on `dataset`."""
    return {name: create(name, **params).fit(dataset) for name, params in settings.items()}


def prepare_validation(member_settings: Mapping[str, Mapping[str, Any]], dataset: Dataset, *,
                       protocol: str = "temporal", options: Mapping[str, Any] | None = None,
                       targets: Collection[str] | None = None, exclude_seen: bool = True,
                       n_candidates: int = DEFAULT_N_CANDIDATES,
                       max_users: int | None = MAX_VALIDATION_USERS, seed: int = 42) -> Validation:
    """Carve validation from `dataset`, fit the members there, gather and label the candidates of
    at most `max_users` validation users (a seeded sample when there are more; None: all)."""
    split = sample_users(validation_split(dataset, protocol, **dict(options or {})), max_users, seed)
    members: dict[str, Recommender] = {}
    seconds: dict[str, float] = {}
    with progress.task("fusion: fitting members on validation", total=len(member_settings), unit="models") as bar:
        for name, params in member_settings.items():
            started = time.perf_counter()
            members[name] = create(name, **params).fit(split.train)
            seconds[name] = time.perf_counter() - started
            bar.advance()
    return validation_from(split, members, targets=targets, exclude_seen=exclude_seen, n_candidates=n_candidates,
                           member_seconds=seconds)


def sample_users(split: Split, max_users: int | None, seed: int = 42) -> Split:
    """`split` with test events of at most `max_users` users (a seeded uniform sample), the train
    side untouched; `info` records how many there were."""
    users = np.unique(split.test.event_users)
    if max_users is None or len(users) <= max_users:
        return split
    if max_users < 1:
        raise ValueError(f"max_users must be at least 1, got {max_users}")
    chosen = np.random.default_rng(seed).choice(users, size=max_users, replace=False)
    test = split.test.subset(np.isin(split.test.event_users, chosen))
    return Split(split.train, test, {**split.info, "validation_users_sampled": f"{max_users} of {len(users)}"})


def validation_from(split: Split, members: Mapping[str, Recommender], *, targets: Collection[str] | None = None,
                    exclude_seen: bool = True, n_candidates: int = DEFAULT_N_CANDIDATES,
                    member_seconds: Mapping[str, float] | None = None) -> Validation:
    """Labelled candidates of a validation split's users from `members` fitted on `split.train`."""
    target_types = tuple(targets) if targets else DEFAULT_TARGET_EVENT_TYPES
    task = build_task(split, target_types, exclude_seen)
    batch = generate(members, task.histories, n_candidates, exclude=task.exclude)
    labelled = LabelledBatch.label(batch, task.relevant)
    grades = _grades(split.test, task.users, batch, target_types)
    info = {**split.info, "n_validation_users": len(task.users), "n_candidates": n_candidates,
            "candidates_per_user": round(len(batch.items) / max(batch.n_users, 1), 1),
            "relevant_in_candidates": round(float(labelled.relevant.sum() / max(labelled.n_relevant.sum(), 1)), 4)}
    return Validation(info, split.train, task, batch, labelled, grades, dict(member_seconds or {}))


def learn_fusions(methods: Sequence[str], members: Mapping[str, Recommender], dataset: Dataset, validation: Validation,
                  *, template: FusionRecommender | None = None, ranker_settings: RankerSettings | None = None,
                  seed: int = 42) -> FusionLearning:
    """Fusion entries for `methods` over `members` (fitted on `dataset`), learned on `validation`."""
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise ValueError(f"unknown fusion method {unknown[0]!r}; expected {', '.join(ALL_METHODS)}")
    params = {**(template.get_params() if template else {}), "members": list(validation.batch.sources)}
    now = validation.task.request_times
    histories = validation.task.histories
    labelled, batch = validation.labelled, validation.batch
    result = FusionLearning(fusions={}, validation={})
    for j, name in enumerate(batch.sources):
        own = np.where(np.isnan(batch.scores[:, j]), -np.inf, batch.scores[:, j])
        result.validation[name] = ndcg_of_scores(labelled, own, VALIDATION_K)
    folds = _folds(batch.n_users, seed)
    for method in progress.track(methods, description="fusion: learning methods", unit="methods"):
        entry = FusionRecommender(**{**params, "method": method})  # its settings; fitted once, by install
        key = f"fusion:{method}"
        if method == "weighted":
            # Each normalisation once for the whole batch: it is per user, so a fold's rows of it are the fold's own.
            matrices = {norm: filled_normalised_batch(batch, norm) for norm in ("minmax", "zscore")}
            trials = {norm: learn_weights(labelled, norm, VALIDATION_K, matrix=matrix) for norm, matrix in matrices.items()}
            best_norm = max(trials, key=lambda n: trials[n][1])
            weights = trials[best_norm][0]
            result.weights[method] = weights
            result.validation[key] = _out_of_fold(labelled, folds, partial(_weighted_scores, matrices[best_norm], best_norm))
            fitted = FusionRecommender(**{**params, "method": method, "normalisation": best_norm}).install(
                members, dataset, weights=weights, validation={"ndcg@10": result.validation[key]})
        elif method == LTR:
            features, standardiser = build_features(batch, histories, _item_features(validation), now, entry.country)
            names = feature_names(batch.sources)
            # The base the trees may boost from (RankerSettings.base_weight): the best member on
            # validation; its weight, unless set, chosen out of fold among BASE_WEIGHT_CHOICES.
            best_member = max(batch.sources, key=lambda m: result.validation[m])
            base = f"{best_member}{MODEL_SEPARATOR}score"
            settings = ranker_settings or RankerSettings()
            choices = BASE_WEIGHT_CHOICES if settings.base_weight is None else (settings.base_weight,)
            ranker, out_of_fold, tried = cross_fitted_ranker(labelled, features, validation.grades, names, settings,
                                                              base, choices, seed)
            result.importances = ranker.importances()
            result.validation[key] = out_of_fold
            result.info["ltr_base"] = {"feature": base, "weight": ranker.base_weight,
                                       "first_fold_ndcg@10_by_weight": {str(w): round(v, 6) for w, v in tried.items()}}
            fitted = entry.install(members, dataset, ranker=ranker, standardiser=standardiser,
                                   validation={"ndcg@10": result.validation[key]})
        else:
            scores = contributions_batch(batch, method, rrf_k=entry.rrf_k, normalisation=entry.normalisation,
                                         vote_k=entry.vote_k).sum(axis=1)
            tiebreak = borda_points_batch(batch).sum(axis=1) if method == "vote" else None
            result.validation[key] = ndcg_of_scores(labelled, scores, VALIDATION_K, tiebreak)
            fitted = entry.install(members, dataset, validation={"ndcg@10": result.validation[key]})
        result.fusions[method] = fitted
    result.info = {**validation.split_info, "member_seconds_on_validation": validation.member_seconds,
                   "ltr_out_of_fold": True, "weighted_out_of_fold": True, **result.info}
    return result


def fit_fusion(method: str, members: Sequence[str], dataset: Dataset, **params: Any) -> FusionRecommender:
    """One fusion entry learned standalone: a validation split carved from `dataset` (the default
    protocol), the members (registry names, default hyperparameters) fitted there and then on all
    of `dataset`, and the method learned between (`learn_fusions` does it for several methods)."""
    template = FusionRecommender(method=method, members=members, **params)
    template._check_params()
    validation = prepare_validation({name: {} for name in members}, dataset, n_candidates=template.n_candidates)
    fitted = fit_members({name: {} for name in members}, dataset)
    return learn_fusions([method], fitted, dataset, validation, template=template).fusions[method]


# --------------------------------------------------------------------- helpers
def _grades(test: Dataset, users: np.ndarray, batch: CandidateBatch, targets: Collection[str]) -> np.ndarray:
    """Each candidate's label: the strongest target event the user had on it in validation, 0 if none."""
    grade_of_code = np.zeros(len(S.EVENT_TYPES), dtype=np.int64)
    for name in targets:
        grade_of_code[S.EVENT_TYPE_CODE[name]] = GRADE_OF_EVENT.get(name, DEFAULT_GRADE)
    is_target = np.isin(test.event_types, event_type_codes(targets))
    row_of_user = np.full(test.n_users, -1, dtype=np.int64)
    row_of_user[users] = np.arange(len(users))
    rows = row_of_user[test.event_users[is_target]]
    keep = rows >= 0
    width = max(test.n_items, 1)
    keys = rows[keep] * width + test.event_items[is_target][keep]
    grade = grade_of_code[test.event_types[is_target][keep]]
    order = np.lexsort((grade, keys))
    keys, grade = keys[order], grade[order]
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]  # the strongest grade of each pair sorts last
    keys, grade = keys[last], grade[last]
    wanted = batch.user_rows * width + batch.items
    position = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
    found = (keys[position] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, grade[position] if len(keys) else 0, 0).astype(np.int64)


def _item_features(validation: Validation) -> ItemFeatures:
    return ItemFeatures.from_dataset(validation.dataset)


def _group_sizes(batch: CandidateBatch) -> np.ndarray:
    return np.diff(batch.bounds()).astype(np.int64)


def _folds(n_users: int, seed: int, n_folds: int = 2) -> np.ndarray:
    """A fold (0 .. n_folds - 1) per validation user, balanced and seeded."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(n_users, dtype=np.int64)
    folds[rng.permutation(n_users)] = np.arange(n_users) % n_folds
    return folds


def _weighted_scores(matrix: np.ndarray, normalisation: str, part: LabelledBatch, part_rows: np.ndarray) -> np.ndarray:
    """Scores of the whole batch (its normalised `matrix`) with weights learned on `part` of it
    (the rows `part_rows`), as the weighted method scores: the weights' share of each member."""
    weights = learn_weights(part, normalisation, VALIDATION_K, matrix=matrix[part_rows])[0]
    vector = np.array([weights[name] for name in part.batch.sources])
    return matrix @ (vector / vector.sum())


def cross_fitted_ranker(labelled: LabelledBatch, features: np.ndarray, grades: np.ndarray, names: list[str],
                         settings: RankerSettings, base: str, choices: Sequence[float],
                         seed: int) -> tuple[LearnedRanker, float, dict[float, float]]:
    """The learned ranker as `settings.bags` (at least 2) cross-fitted models, its NDCG out of fold,
    and the NDCG of each base weight tried.

    The validation users are split in K = bags folds; model f learns on every fold but f, so each
    user is scored out of fold by exactly one model, and the served ranker averages the K models
    (cross-validation bagging). The base weight is chosen on fold 0 alone (one model per choice,
    scored on fold 0's users), so the choice costs len(choices) - 1 extra fits: K + 2 fits in all,
    where separate out-of-fold runs per weight and a final refit cost 21. The out-of-fold NDCG of
    fold 0's users is the one the weight was chosen by, slightly in its favour among near-equal weights.
    """
    batch = labelled.batch
    n_folds = max(settings.bags, 2)
    folds = _folds(batch.n_users, seed, n_folds)
    fold_of_row = folds[batch.user_rows]
    sizes = _group_sizes(batch)

    def fit(fold: int, weight: float) -> LearnedRanker:
        rows = fold_of_row != fold
        one = replace(settings, base_weight=weight, bags=1, seed=settings.seed + fold)
        return LearnedRanker.fit(features[rows], grades[rows], sizes[folds != fold], names, one, base)

    first = fold_of_row == 0
    first_part = _sub_batch(labelled, folds == 0)
    candidates = {w: fit(0, w) for w in choices}
    tried = {w: ndcg_of_scores(first_part, ranker.predict(features[first]), VALIDATION_K) if len(choices) > 1 else float("nan")
             for w, ranker in candidates.items()}
    weight = max(tried, key=lambda w: tried[w]) if len(choices) > 1 else choices[0]
    rankers = [candidates[weight], *(fit(fold, weight) for fold in range(1, n_folds))]
    scores = np.zeros(len(batch.items))
    for fold, ranker in enumerate(rankers):
        scores[fold_of_row == fold] = ranker.predict(features[fold_of_row == fold])
    models = [model for ranker in rankers for model in ranker.models]
    return LearnedRanker(models, names, base, weight), ndcg_of_scores(labelled, scores, VALIDATION_K), tried


def _out_of_fold(labelled: LabelledBatch, folds: np.ndarray,
                 learn_and_score: Callable[[LabelledBatch, np.ndarray], np.ndarray]) -> float:
    """NDCG where each fold's users are scored by what was learned on the other fold
    (`learn_and_score(part, rows)`: the other fold as a batch of its own, and its rows in this one)."""
    batch = labelled.batch
    scores = np.zeros(len(batch.items))
    fold_of_row = folds[batch.user_rows]
    for fold in (0, 1):
        fold_scores = learn_and_score(_sub_batch(labelled, folds != fold), np.flatnonzero(fold_of_row != fold))
        scores[fold_of_row == fold] = fold_scores[fold_of_row == fold]
    return ndcg_of_scores(labelled, scores, VALIDATION_K)


def _sub_batch(labelled: LabelledBatch, keep_users: np.ndarray) -> LabelledBatch:
    """The labelled batch restricted to some users (renumbered 0..)."""
    batch = labelled.batch
    rows = keep_users[batch.user_rows]
    new_row = np.cumsum(keep_users) - 1
    sub = CandidateBatch(new_row[batch.user_rows[rows]], batch.items[rows], batch.scores[rows], batch.ranks[rows],
                         batch.lengths[keep_users], batch.sources)
    return LabelledBatch(sub, labelled.relevant[rows], labelled.n_relevant[keep_users])
