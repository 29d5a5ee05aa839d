"""FusionRecommender behind the model contract: through a bundle and standalone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.bundle import load_current
from shoprec.data.store import Store
from shoprec.errors import ConfigError, NotFittedError, ShoprecError
from shoprec.models.base import seen_items
from shoprec.ranking.fused import FusionRecommender
from shoprec.ranking.learn import fit_fusion
from shoprec.recommending import history_of
from tests.models.conftest import planted  # noqa: F401  (the planted-pattern dataset fixture)


def test_bundle_round_trip_keeps_the_fusion_entries_and_their_members(trained: Path):
    bundle = load_current(trained)
    fused = {name: m for name, m in bundle.models.items() if name.startswith("fusion:")}
    assert set(fused) == {"fusion:rrf", "fusion:weighted", "fusion:ltr"}
    weighted = fused["fusion:weighted"]
    assert isinstance(weighted, FusionRecommender)
    assert set(weighted.fusion_weights_) == {"popularity", "itemknn", "ease", "content"}
    assert bundle.manifest["default_model"] == max(bundle.manifest["metrics"]["fusion"]["validation_ndcg@10"].items(),
                                                   key=lambda kv: kv[1])[0]
    # The loaded entry answers like one assembled by hand from the loaded members and its learned weights.
    manual = FusionRecommender(**weighted.get_params())
    manual.n_items_, manual.weights_ = weighted.n_items_, weighted.weights_
    manual.fusion_weights_, manual.validation_ = weighted.fusion_weights_, weighted.validation_
    manual.attach({name: bundle.models[name] for name in weighted.members})
    store = Store(trained)
    try:
        for user in ("u00", "u40"):
            history = history_of(store, bundle, user)
            a = weighted.recommend(history, 5, exclude=seen_items(history))[0]
            b = manual.recommend(history, 5, exclude=seen_items(history))[0]
            assert a.items.tolist() == b.items.tolist() and len(a) == 5
    finally:
        store.close()


def test_standalone_fit_recovers_the_planted_groups(planted):  # noqa: F811
    unfitted = FusionRecommender(method="rrf", members=("itemknn", "ease"), n_candidates=12)
    with pytest.raises(NotFittedError):
        unfitted.recommend(planted.histories(np.arange(2)), 3)
    with pytest.raises(ShoprecError, match="fit_fusion"):
        unfitted.fit(planted)
    model = fit_fusion("rrf", ("itemknn", "ease"), planted, n_candidates=12)
    histories = planted.histories(np.arange(20))
    seen = seen_items(histories)
    lists = model.recommend(histories, 1, exclude=seen)
    hits = users = 0
    for u, ranked in enumerate(lists):
        group = {planted.item_ids.index(f"i{i:02d}") for i in (range(5) if u < 10 else range(5, 10))}
        if group - set(seen[u].tolist()):  # something of the user's group is left to recommend
            users += 1
            hits += int(ranked.items[0]) in group
    assert users >= 10 and hits >= users - 1


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="fusion method"):
        FusionRecommender(method="median", members=("a",))._check_params()
    with pytest.raises(ConfigError, match="at least one member"):
        FusionRecommender(method="rrf")._check_params()


def test_a_learned_ranker_saved_with_other_features_is_refused_on_load(trained: Path, tmp_path: Path):
    import json
    import shutil

    from shoprec.errors import ShoprecError
    from shoprec.ranking.fused import RANKER_DIR

    ltr = load_current(trained).models["fusion:ltr"]
    folder = tmp_path / "ltr"
    ltr.save(folder)
    meta_path = folder / RANKER_DIR / "ranker.json"
    meta = json.loads(meta_path.read_text())
    assert "item_first_after_user_last_days" in meta["feature_names"]
    FusionRecommender.load(folder)  # as saved: loads
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    # a ranker from before the timing features
    meta["feature_names"] = [n for n in meta["feature_names"] if not n.endswith("_days") or n.startswith(("item_age", "item_days", "user_days"))]
    (old / RANKER_DIR / "ranker.json").write_text(json.dumps(meta))
    with pytest.raises(ShoprecError, match="item_first_after_user_last_days"):
        FusionRecommender.load(old)
