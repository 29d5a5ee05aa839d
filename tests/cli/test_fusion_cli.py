"""`evaluate` lists the fusion entries beside the single models; `recommend --explain --json` gives reasons."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.data.ingest import Source, ingest
from shoprec.data.store import Store
from tests.ranking.conftest import build_workspace, shop_events, shop_items


def test_evaluate_lists_every_fusion_method_with_what_it_learned(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    store = Store(ws)
    try:
        ingest(store, [Source.from_frames("items", "items", lambda: [shop_items()]),
                       Source.from_frames("events", "events", lambda: [shop_events()])])
    finally:
        store.close()
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(cli, ["evaluate", "--workspace", str(ws), "--models", "popularity,itemknn,content",
                                      "--json-out", str(out), "--report", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    names = set(written["results"])
    assert names == {"popularity", "itemknn", "content", "fusion:average", "fusion:weighted", "fusion:borda",
                     "fusion:vote", "fusion:rrf", "fusion:ltr"}
    weights = written["fusion"]["weights"]["weighted"]
    assert set(weights) == {"popularity", "itemknn", "content"} and abs(sum(weights.values()) - 1) < 1e-3
    assert written["results"]["fusion:weighted"]["params"]["learned_weights"] == weights
    importances = written["fusion"]["ltr_importances"]
    assert any(name.startswith("itemknn__") for name in importances) and abs(sum(importances.values()) - 1) < 1e-3
    assert written["fusion"]["best_on_validation"] in names
    # the ranker's base: the best member on validation, its weight the best of those tried on the first fold
    base = written["fusion"]["info"]["ltr_base"]
    members = {m: written["fusion"]["validation_ndcg@10"][m] for m in ("popularity", "itemknn", "content")}
    assert base["feature"] == f"{max(members, key=members.get)}__score"
    tried = base["first_fold_ndcg@10_by_weight"]
    assert set(tried) == {"0.0", "1.0", "3.0"} and tried[str(base["weight"])] == max(tried.values())
    assert 0.0 < written["fusion"]["validation_ndcg@10"]["fusion:ltr"] <= 1.0
    html = (tmp_path / "r.html").read_text()
    assert "feature importances" in html and "fusion:ltr" in html


def test_recommend_explain_json_reasons_name_real_items_and_models(tmp_path: Path) -> None:
    ws = build_workspace(tmp_path / "ws", "popularity,itemknn,content", "rrf,weighted")
    titles = set(shop_items()["title"])
    runner = CliRunner()
    for user in ["u00", "u40", "stranger"]:
        result = runner.invoke(cli, ["recommend", "--workspace", str(ws), "--user", user, "--k", "6", "--explain", "--json"])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        models = set(json.loads((next((ws / "bundles").glob("*/manifest.json"))).read_text())["models"])
        assert len(answer["items"]) == 6
        for item in answer["items"]:
            assert item["reasons"], item
            for reason in item["reasons"]:
                assert reason["model"] is None or reason["model"] in models
                if "“" in reason["text"]:
                    assert reason["text"].split("“", 1)[1].rstrip("”") in titles
