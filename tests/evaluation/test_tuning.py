"""Tuning: chosen on validation carved from train, never on test; the grid's best point wins; the
CLI writes tuning.json and bundles record the choice.

The shop below is built so that validation and test disagree. Item a was popular long ago, item b
is trending at the end of the validation fit, and every user in a scored period is new (so
popularity's list is all they get):

    phase        days        events                      role (temporal 0.2 split, then 0.2 of train)
    early        0 .. 7.9    40 views of a, 12 of c       validation-train
    trend        9.5 .. 9.9  12 views of b                validation-train (the last day)
    validation   10 .. 10.3  16 new users view b          validation
    test         11 .. 11.4  20 new users view a          test

Popularity with `window_days=1` ranks b first (only the trend counts) and scores validation's
b-viewers perfectly, while all-time popularity (`None`) ranks a first and would win on test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.data.dataset import Dataset
from shoprec.errors import ConfigError, ShoprecError
from shoprec.evaluation.runner import evaluate
from shoprec.evaluation.splits import temporal_split, validation_split
from shoprec.evaluation.tuning import grid_points, load_tuning, tune_model
from shoprec.models.popularity import PopularityRecommender
from shoprec.models.registry import create

DAY = 86_400_000
SPACE = {"window_days": [None, 1.0]}


def _events(test_item: str = "a") -> list[tuple[str, str, str, int]]:
    early = [(f"old{i}", "a", "view", int(i * 0.19 * DAY)) for i in range(40)]
    early += [(f"oldc{i}", "c", "view", int((i * 0.6 + 0.1) * DAY)) for i in range(12)]
    trend = [(f"trend{i}", "b", "view", int((9.5 + i * 0.03) * DAY)) for i in range(12)]
    validation = [(f"val{i}", "b", "view", int((10 + i * 0.02) * DAY)) for i in range(16)]
    test = [(f"test{i}", test_item, "view", int((11 + i * 0.02) * DAY)) for i in range(20)]
    return early + trend + validation + test


def _dataset(test_item: str = "a") -> Dataset:
    return Dataset.from_frames(pd.DataFrame(_events(test_item), columns=["user_id", "item_id", "event_type", "timestamp"]))


@pytest.fixture
def popularity_space(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give popularity a two-point tuning space, whatever it declares itself."""
    monkeypatch.setattr(PopularityRecommender, "tuning_space", SPACE)


def _ndcg10(window_days: float | None, split) -> float:  # type: ignore[no-untyped-def]
    result = evaluate({"p": create("popularity", window_days=window_days)}, split, ks=(10,))
    return result.results["p"]["ndcg@10"]


def test_choice_follows_validation_not_test(popularity_space: None) -> None:
    split = temporal_split(_dataset(), test_fraction=0.2)
    # The shop is as the docstring says: validation prefers the window, test prefers no window.
    validation = validation_split(split.train, "temporal", test_fraction=0.2)
    assert validation.info["test_events"] == 16 and split.info["test_events"] == 20
    by_hand = {w: _ndcg10(w, validation) for w in SPACE["window_days"]}
    assert by_hand == pytest.approx({None: 1 / math.log2(3), 1.0: 1.0})  # b at rank 2 (after a), or rank 1
    on_test = {w: _ndcg10(w, split) for w in SPACE["window_days"]}
    assert on_test == pytest.approx({None: 1.0, 1.0: 1 / math.log2(3)})

    result = tune_model("popularity", split.train, "temporal", {"test_fraction": 0.2})
    assert result.params == {"window_days": 1.0}  # the validation winner, although test would pick None
    assert result.value == pytest.approx(1.0)
    assert [t.params for t in result.trials] == [{"window_days": None}, {"window_days": 1.0}]
    assert [t.value for t in result.trials] == pytest.approx([by_hand[None], by_hand[1.0]])
    assert all(t.seconds >= 0 for t in result.trials)
    assert result.validation["test_events"] == 16


def test_cli_tuning_is_blind_to_the_test_side(tmp_path: Path, popularity_space: None) -> None:
    # Two shops with the same events up to the test period; in the second, test users view c, not a.
    runner = CliRunner()
    trials = []
    for test_item in ("a", "c"):
        ws = str(tmp_path / f"ws-{test_item}")
        assert runner.invoke(cli, ["ingest", str(_csv(tmp_path, test_item)), "--workspace", ws]).exit_code == 0
        tuned = runner.invoke(cli, ["tune", "--workspace", ws, "--models", "popularity", "--split", "temporal"])
        assert tuned.exit_code == 0, tuned.output
        trials.append([(t["params"], t["value"]) for t in load_tuning(Path(ws) / "tuning.json")["popularity"]["trials"]])
    assert trials[0] == trials[1]


def test_ties_go_to_the_first_grid_point_and_fixed_values_are_not_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two values with identical rankings on this shop (windows longer than its whole history).
    monkeypatch.setattr(PopularityRecommender, "tuning_space", {"window_days": [500.0, 100.0]})
    split = temporal_split(_dataset(), 0.2)
    tied = tune_model("popularity", split.train, "temporal", {"test_fraction": 0.2})
    assert tied.trials[0].value == tied.trials[1].value
    assert tied.params == {"window_days": 500.0}

    fixed = tune_model("popularity", split.train, "temporal", {"test_fraction": 0.2}, fixed_params={"window_days": 1.0})
    assert len(fixed.trials) == 1 and fixed.params == {"window_days": 1.0}


def test_a_temporal_cutoff_is_replaced_by_a_fraction_for_validation(popularity_space: None) -> None:
    split = temporal_split(_dataset(), cutoff=11 * DAY)
    result = tune_model("popularity", split.train, "temporal", {"cutoff": 11 * DAY})
    assert result.validation["test_events"] == 16  # the default 0.2 of train, not an empty side past the cutoff
    assert result.params == {"window_days": 1.0}


def test_validation_without_users_is_a_clear_error(popularity_space: None) -> None:
    only_views_of_seen = Dataset.from_frames(pd.DataFrame(
        [("u1", "a", "view", 1), ("u1", "a", "view", 2)], columns=["user_id", "item_id", "event_type", "timestamp"]))
    with pytest.raises(ShoprecError, match="cannot tune popularity"):
        tune_model("popularity", only_views_of_seen, "leave-last", {"last_n": 1})


def test_grid_points_order_subset_and_empty_space() -> None:
    space = {"x": [1, 2, 3], "y": ["a", "b"]}
    full = grid_points(space)
    assert full == [{"x": x, "y": y} for x in (1, 2, 3) for y in ("a", "b")]
    subset = grid_points(space, max_trials=3, seed=5)
    assert len(subset) == 3 and subset == sorted(subset, key=full.index)  # a subset, still in grid order
    assert subset == grid_points(space, max_trials=3, seed=5)
    assert grid_points(space, max_trials=10) == full
    assert grid_points({}) == [{}]
    with pytest.raises(ConfigError):
        grid_points(space, max_trials=0)


def _csv(tmp_path: Path, test_item: str = "a") -> Path:
    path = tmp_path / f"events-{test_item}.csv"
    frame = pd.DataFrame(_events(test_item), columns=["user_id", "item_id", "event_type", "timestamp"])
    # Times from 2023-11-14 on: a time before the 1990 floor would be quarantined as ancient.
    frame["timestamp"] = pd.to_datetime(frame["timestamp"] + 1_700_000_000_000, unit="ms", utc=True).map(lambda t: t.isoformat())
    frame.to_csv(path, index=False)
    return path


def test_cli_tune_evaluate_and_train_record_the_choice(tmp_path: Path, popularity_space: None) -> None:
    ws = str(tmp_path / "ws")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(_csv(tmp_path)), "--workspace", ws]).exit_code == 0
    split_flags = ["--split", "temporal", "--test-fraction", "0.2"]

    tuned = runner.invoke(cli, ["tune", "--workspace", ws, "--models", "popularity", *split_flags])
    assert tuned.exit_code == 0, tuned.output
    entry = load_tuning(Path(ws) / "tuning.json")["popularity"]
    assert entry["params"] == {"window_days": 1.0} and entry["metric"] == "ndcg@10"
    assert entry["value"] == pytest.approx(1.0) and len(entry["trials"]) == 2
    assert entry["split"]["method"] == "temporal"

    out = tmp_path / "eval.json"
    # The model stage: the test shopper is new, and the engine would answer them from its fallback.
    evaluated = runner.invoke(cli, ["evaluate", "--workspace", ws, "--models", "popularity", *split_flags, "--stage",
                                    "model", "--tune", "--json-out", str(out), "--report", str(tmp_path / "r.html")])
    assert evaluated.exit_code == 0, evaluated.output
    written = json.loads(out.read_text())
    assert written["results"]["popularity"]["params"] == {"window_days": 1.0, "half_life_days": None, "weighted": True}
    assert written["tuning"]["popularity"]["params"] == {"window_days": 1.0}
    # Fitted with the chosen window on the whole train side, measured on test: a falls to rank 2.
    assert written["results"]["popularity"]["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert written["tuning"]["popularity"]["value"] == pytest.approx(1.0)
    assert "tuned on validation" in (tmp_path / "r.html").read_text()

    from_file = runner.invoke(cli, ["train", "--workspace", ws, "--models", "popularity", "--params-from",
                                    str(Path(ws) / "tuning.json"), "--json"])
    assert from_file.exit_code == 0, from_file.output
    manifest = json.loads((Path(json.loads(from_file.stdout)["bundle"]) / "manifest.json").read_text())
    assert manifest["models"]["popularity"]["params"]["window_days"] == 1.0
    assert manifest["metrics"]["tuning"]["popularity"]["params"] == {"window_days": 1.0}
    assert manifest["metrics"]["tuning"]["popularity"]["value"] == pytest.approx(1.0)

    # train --tune carves validation from all stored data: its last 20% is the a-viewers, so None wins.
    retuned = runner.invoke(cli, ["train", "--workspace", ws, "--models", "popularity", "--tune", *split_flags, "--json"])
    assert retuned.exit_code == 0, retuned.output
    manifest = json.loads((Path(json.loads(retuned.stdout)["bundle"]) / "manifest.json").read_text())
    assert manifest["models"]["popularity"]["params"]["window_days"] is None
    assert manifest["metrics"]["tuning"]["popularity"]["params"] == {"window_days": None}
    assert manifest["metrics"]["tuning"]["popularity"]["value"] == pytest.approx(1.0)

    both = runner.invoke(cli, ["train", "--workspace", ws, "--models", "popularity", "--tune", "--params-from",
                               str(Path(ws) / "tuning.json")])
    assert both.exit_code != 0
