"""TwoTowerRecommender: new items reached through content, early stopping, save/load (tiny, fast settings)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from shoprec import progress  # noqa: E402
from shoprec.data.dataset import Dataset  # noqa: E402
from shoprec.data.history import Histories  # noqa: E402
from shoprec.data.schema import EVENT_TYPE_CODE, EVENT_TYPES  # noqa: E402
from shoprec.errors import ConfigError  # noqa: E402
from shoprec.models.two_tower import TwoTowerRecommender  # noqa: E402

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]
T0 = 1_800_000_000_000
# Enough steps on the 20-user planted shop, in about a second.
FAST = {"dim": 16, "epochs": 20, "batch_size": 16, "learning_rate": 1e-2}
# Items added to the planted catalogue that nobody touches: one kitchen item like group A's, and
# unrelated ones.
NEW_KITCHEN = ("i12", "kitchen pan steel 12", "Home > Kitchen", "chefco", 23.0)
UNRELATED = [
    ("i13", "blue velvet sofa", "Furniture > Sofas", "comfo", 400.0),
    ("i14", "winter car tire", "Auto > Tires", "roadia", 90.0),
    ("i15", "crime novel paperback", "Books > Fiction", "pagely", 9.0),
    ("i16", "yoga mat purple", "Sports > Yoga", "zenfit", 30.0),
    ("i17", "dog leash nylon", "Pets > Dogs", "pawsome", 12.0),
    ("i18", "guitar strings bronze", "Music > Guitars", "tunecraft", 8.0),
]


@pytest.fixture(scope="module")
def with_new_items(planted: Dataset) -> Dataset:
    events = pd.DataFrame({
        "user_id": planted.user_ids.id_of(planted.event_users),
        "item_id": planted.item_ids.id_of(planted.event_items),
        "event_type": [EVENT_TYPES[code] for code in planted.event_types],
        "timestamp": planted.timestamps,
    })
    extra = pd.DataFrame([NEW_KITCHEN, *UNRELATED], columns=["item_id", "title", "category", "brand", "price"])
    return Dataset.from_frames(events, pd.concat([planted.items, extra], ignore_index=True))


@pytest.fixture(scope="module")
def fitted(planted: Dataset) -> TwoTowerRecommender:
    return TwoTowerRecommender(**FAST).fit(planted)  # type: ignore[arg-type]


def test_a_new_item_is_reached_through_its_content(with_new_items: Dataset) -> None:
    new, unrelated = 12, np.arange(13, 19)
    assert not np.isin(np.r_[new, unrelated], with_new_items.event_items).any()
    model = TwoTowerRecommender(**FAST).fit(with_new_items)  # type: ignore[arg-type]
    scores = model.score(Histories.from_lists([[(0, VIEW, T0), (1, PURCHASE, T0 + 1)]]))[0]
    # Above every unrelated new item and every item of the other taste group.
    assert scores[new] > scores[unrelated].max()
    assert scores[new] > scores[5:10].max()


def test_early_stopping_restores_the_best_epoch(planted: Dataset, fitted: TwoTowerRecommender) -> None:
    best = fitted.best_epoch_
    assert fitted.epochs_run_ > best + 1  # it stopped after epochs that did not improve
    assert fitted.validation_ndcg_[best] == max(fitted.validation_ndcg_)
    # Training is deterministic, so a run that ends at the best epoch holds the weights the early
    # stopped run restored.
    until_best = TwoTowerRecommender(**{**FAST, "epochs": best + 1}).fit(planted)  # type: ignore[arg-type]
    assert until_best.epochs_run_ == best + 1
    np.testing.assert_array_equal(until_best.item_vectors_, fitted.item_vectors_)


def test_one_progress_line_per_epoch_with_its_validation_ndcg(planted: Dataset, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "lines")
    model = TwoTowerRecommender(**{**FAST, "epochs": 6}).fit(planted)  # type: ignore[arg-type]
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("two_tower: training: ")]
    per_epoch = [line for line in lines if "validation" in line]
    assert len(per_epoch) == model.epochs_run_
    shown = [float(re.search(r"validation ndcg@20 ([\d.]+)", line)[1]) for line in per_epoch]  # type: ignore[index]
    np.testing.assert_allclose(shown, model.validation_ndcg_, atol=1e-4)


def test_save_load_gives_identical_scores(fitted: TwoTowerRecommender, tmp_path: Path) -> None:
    histories = Histories.from_lists([[(0, VIEW, T0), (1, PURCHASE, T0 + 1)], [(7, VIEW, T0)], []])
    fitted.save(tmp_path / "m")
    assert (tmp_path / "m" / "weights.pt").exists()
    loaded = TwoTowerRecommender.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.score(histories), fitted.score(histories))
    np.testing.assert_array_equal(loaded.item_vectors_, fitted.item_vectors_)
    assert loaded.best_epoch_ == fitted.best_epoch_


def test_a_new_event_changes_the_answer_without_refit(fitted: TwoTowerRecommender) -> None:
    before = Histories.from_lists([[(0, VIEW, T0)]])
    after = Histories.from_lists([[(0, VIEW, T0), (6, PURCHASE, T0 + 1)]])
    assert not np.allclose(fitted.score(before), fitted.score(after))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"dim": 0}, "dim"),
        ({"epochs": 2.5}, "epochs"),
        ({"batch_size": 1}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"weight_decay": -1e-3}, "weight_decay"),
        ({"temperature": float("inf")}, "temperature"),
        ({"max_history": 0}, "max_history"),
        ({"patience": 0}, "patience"),
        ({"seed": -1}, "seed"),
        ({"text_features": True}, "text_features"),
    ],
)
def test_invalid_hyperparameters_are_refused_at_fit(params: dict[str, object], name: str, planted: Dataset) -> None:
    model = TwoTowerRecommender(**params)  # type: ignore[arg-type]  # the constructor only stores
    with pytest.raises(ConfigError, match=name):
        model.fit(planted)
    assert not model.is_fitted
