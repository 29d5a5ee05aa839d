"""`shoprec evaluate --protocol item-to-item` end to end on a small synthetic shop: the tables, the
JSON in the run folder (and as the latest), `--json`, and the clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store

MODELS = ("popularity", "itemknn", "content", "similar_items")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic shop: 150 shoppers, 80 items, 5,000 events over 30 days."""
    ws = tmp_path_factory.mktemp("item-to-item-cli") / "ws"
    store = Store(ws)
    try:
        generate_into_store(store, 150, 80, 5000, 7, "en", 30, "2024-09-01")
    finally:
        store.close()
    return ws


def _evaluate(shop: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["evaluate", "--workspace", str(shop), "--protocol", "item-to-item", *args])
    error = f"error: {result.exception}" if result.exception and not isinstance(result.exception, SystemExit) else ""
    return result.exit_code, result.stdout, result.stderr + error


def test_default_models_are_measured_and_written_to_the_run_folder(shop: Path) -> None:
    code, out, err = _evaluate(shop, "--k", "5,10")
    assert code == 0, err
    assert "item-to-item" in out and "by the current item's distinct shoppers" in out
    for name in MODELS:
        assert name in out
    written = Path(out.strip().splitlines()[-1].removeprefix("json: "))
    assert written.name == "item_to_item.json" and written.parent.parent == shop / "reports"
    document = json.loads(written.read_text())
    assert (shop / "reports" / "item_to_item.json").read_text() == written.read_text()  # the latest run's copy
    assert document["protocol"] == "item-to-item"
    assert set(document["results"]) == set(MODELS)
    split = document["split"]
    assert split["method"] == "temporal" and split["ks"] == [5, 10]
    assert split["n_pairs"] > 0 and 0 < split["n_shoppers"] <= split["n_sessions"] <= split["n_pairs"]
    assert sum(document["bucket_pairs"].values()) == split["n_pairs"]
    for name, metrics in document["results"].items():
        for k in (5, 10):
            for metric in ("hit_rate", "ndcg", "mrr", "coverage", "same_category"):
                assert 0 <= metrics[f"{metric}@{k}"] <= 1, (name, metric, k)
            assert metrics[f"mrr@{k}"] <= metrics[f"ndcg@{k}"] <= metrics[f"hit_rate@{k}"]
        assert metrics["hit_rate@5"] <= metrics["hit_rate@10"]
        assert "params" in metrics and metrics["train_seconds"] >= 0
    # popularity answers every item with (nearly) the same list; the item-to-item models do not
    assert document["results"]["popularity"]["coverage@10"] < document["results"]["content"]["coverage@10"]


def test_json_flag_prints_only_the_json_and_max_pairs_samples(shop: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "i2i.json"
    code, out, err = _evaluate(shop, "--models", "popularity", "--max-pairs", "25", "--json", "--json-out", str(out_file))
    assert code == 0, err
    document = json.loads(out)
    assert document == json.loads(out_file.read_text())
    assert document["split"]["n_pairs"] == 25
    assert document["split"]["n_candidate_pairs"] > 25
    assert set(document["results"]) == {"popularity"}


def test_options_of_the_user_protocol_are_refused(shop: Path) -> None:
    for args, named in ((["--tune"], "--tune"), (["--stage", "model"], "--stage"), (["--fusion", "none"], "--fusion")):
        code, _, err = _evaluate(shop, "--models", "popularity", *args)
        assert code == 2 and named in err, err
    code, _, err = _evaluate(shop, "--split", "leave-last")
    assert code == 2 and "temporal" in err
    user = CliRunner().invoke(cli, ["evaluate", "--workspace", str(shop), "--models", "popularity", "--max-pairs", "5"])
    assert user.exit_code == 2 and "--max-pairs" in user.stderr


def test_no_test_pairs_is_a_clear_error(shop: Path) -> None:
    code, _, err = _evaluate(shop, "--models", "popularity", "--cutoff", "2031-01-01")
    assert code != 0 and "no test pairs" in err and "test side holds no events" in err
