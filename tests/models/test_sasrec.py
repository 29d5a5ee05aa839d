"""SASRec: learns an order-dependent pattern, masks the future, drops what the weights drop, round-trips."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from shoprec import progress
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.sasrec import SASRecRecommender, _hold_out_last, _sequences

N = 20  # items "s00".."s19"; in every sequence item k is followed by item (k + 1) % N
VIEW, PURCHASE, SEARCH, REMOVE = (EVENT_TYPE_CODE[t] for t in ("view", "purchase", "search", "remove_from_cart"))
TINY = {"max_len": 8, "dim": 32, "heads": 2, "blocks": 1, "dropout": 0.1, "epochs": 40, "learning_rate": 1e-2,
        "patience": None, "threads": 1}


def successor_shop() -> Dataset:
    """60 users, each a run k, k+1, k+2, ... (mod N) of 4-9 views from a random start."""
    rng = np.random.default_rng(3)
    rows = []
    for u in range(60):
        start, length = int(rng.integers(N)), int(rng.integers(4, 10))
        rows += [(f"u{u:02d}", f"s{(start + j) % N:02d}", "view", 1_000 * (u * 20 + j)) for j in range(length)]
    return Dataset.from_frames(pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"]))


def history(*items: int, event_type: int = VIEW) -> Histories:
    return Histories.from_lists([[(i, event_type, t) for t, i in enumerate(items)]])


@pytest.fixture(scope="module")
def shop() -> Dataset:
    return successor_shop()


@pytest.fixture(scope="module")
def model(shop: Dataset) -> SASRecRecommender:
    return SASRecRecommender(**TINY).fit(shop)


@pytest.mark.parametrize("loss", [{}, {"negatives": 10}, {"loss": "bce", "negatives": 4}],
                         ids=["full-softmax", "sampled-softmax", "bce"])
def test_learns_that_k_is_followed_by_k_plus_1(shop: Dataset, loss: dict[str, object]) -> None:
    fitted = SASRecRecommender(**{**TINY, **loss}).fit(shop)
    histories = Histories.from_lists([[((k - 2) % N, VIEW, 0), ((k - 1) % N, VIEW, 1), (k, VIEW, 2)] for k in range(N)])
    top = [ranked.items[0] for ranked in fitted.recommend(histories, 1)]
    assert top == [(k + 1) % N for k in range(N)]


def test_order_matters(model: SASRecRecommender) -> None:
    # The same two items in the other order: the answer follows whichever came last.
    assert model.recommend(history(3, 12), 1)[0].items[0] == 13
    assert model.recommend(history(12, 3), 1)[0].items[0] == 4


def test_attention_is_causal(model: SASRecRecommender) -> None:
    """Hidden states at positions <= t do not change when items after t do."""
    network = model.network_
    rng = np.random.default_rng(0)
    base = torch.from_numpy(rng.integers(1, N + 1, size=(1, TINY["max_len"])))
    base[0, :2] = 0  # left padding, as in serving
    with torch.no_grad():
        before = network(base)
        for t in range(2, TINY["max_len"] - 1):
            changed = base.clone()
            changed[0, t + 1:] = torch.from_numpy(rng.integers(1, N + 1, size=TINY["max_len"] - t - 1))
            after = network(changed)
            torch.testing.assert_close(after[0, :t + 1], before[0, :t + 1], rtol=0, atol=1e-6)
            assert not torch.allclose(after[0, t + 1:], before[0, t + 1:])


def test_events_the_weights_drop_and_unknown_items_do_not_change_scores(model: SASRecRecommender) -> None:
    plain = model.score(history(6, 7))
    noisy = Histories.from_lists([[(6, VIEW, 0), (7, VIEW, 1), (2, SEARCH, 2), (15, REMOVE, 3), (99, VIEW, 4)]])
    np.testing.assert_array_equal(model.score(noisy), plain)
    # A view then a purchase of one item is one step of the sequence.
    repeated = Histories.from_lists([[(6, VIEW, 0), (7, VIEW, 1), (7, PURCHASE, 2)]])
    np.testing.assert_array_equal(model.score(repeated), plain)


def test_empty_history_gets_training_popularity() -> None:
    rows = [("u1", "A", "view", 1), ("u1", "A", "purchase", 2), ("u1", "B", "view", 3),
            ("u2", "B", "view", 1), ("u2", "C", "search", 2)]
    shop = Dataset.from_frames(pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"]))
    fitted = SASRecRecommender(**{**TINY, "epochs": 1}).fit(shop)
    # A: one step (its view and purchase collapse); B: two users' views; C: only searched (weight 0).
    np.testing.assert_array_equal(fitted.score(Histories.empty(1))[0], [1, 2, 0])
    np.testing.assert_array_equal(fitted.score(history(2, event_type=SEARCH))[0], [1, 2, 0])


def test_early_stopping_keeps_the_best_epoch(shop: Dataset, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "lines")
    fitted = SASRecRecommender(**{**TINY, "epochs": 200, "patience": 3}).fit(shop)
    assert fitted.epochs_trained_ == fitted.best_epoch_ + 3 < 200
    # one progress line per epoch, each with its validation NDCG; the last says it stops
    epochs = [line for line in capsys.readouterr().err.splitlines() if line.startswith("sasrec: training: ")
              and "validation" in line]
    assert len(epochs) == fitted.epochs_trained_
    best = max(float(re.search(r"validation ndcg@10 ([\d.]+)", line)[1]) for line in epochs)  # type: ignore[index]
    assert best == pytest.approx(fitted.validation_ndcg_, abs=1e-4)
    assert "stopping" in epochs[-1] and not any("stopping" in line for line in epochs[:-1])
    assert fitted.validation_ndcg_ > 0.9  # the held-out last item is the successor of the one before
    # The kept weights are the best epoch's: re-scoring the same held-out users gives its NDCG.
    indptr, items = _sequences(shop.histories(), np.asarray(shop.weights.weight_vector()), shop.n_items)
    *_, validation = _hold_out_last(indptr, items, TINY["max_len"], np.random.default_rng(fitted.seed))
    assert validation.ndcg(fitted.network_) == pytest.approx(fitted.validation_ndcg_, abs=1e-6)


def test_save_load_gives_identical_scores(model: SASRecRecommender, tmp_path: Path) -> None:
    model.save(tmp_path / "sasrec")
    loaded = SASRecRecommender.load(tmp_path / "sasrec")
    histories = Histories.from_lists([[(1, VIEW, 0), (2, VIEW, 1)], [], [(17, PURCHASE, 0)]])
    np.testing.assert_array_equal(loaded.score(histories), model.score(histories))
    assert loaded.best_epoch_ == model.best_epoch_


def test_same_seed_same_model_other_seed_other_model(shop: Dataset, model: SASRecRecommender) -> None:
    histories = Histories.from_lists([[(4, VIEW, 0), (5, VIEW, 1)], [(11, VIEW, 0)]])
    again = SASRecRecommender(**TINY).fit(shop)
    np.testing.assert_array_equal(again.score(histories), model.score(histories))
    other = SASRecRecommender(**{**TINY, "seed": 1}).fit(shop)
    assert not np.allclose(other.score(histories), model.score(histories))
    # Fitting does not disturb the caller's torch state.
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize(("params", "message"), [
    ({"dim": 30, "heads": 4}, "multiple of heads"),
    ({"loss": "hinge"}, "loss must be one of"),
    ({"dropout": 1.0}, "dropout"),
    ({"patience": 0}, "patience"),
])
def test_bad_hyperparameters_are_refused_at_fit(shop: Dataset, params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SASRecRecommender(**params).fit(shop)  # type: ignore[arg-type]
