"""Fitting in a child process: the fitted model comes back whole, failures and native crashes are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.models.isolated_fit import FitFailed, fit_each, fit_isolated
from shoprec.models.registry import create
from tests.models.failing_models import RaisingRecommender, SegfaultRecommender


def test_a_model_fitted_in_a_child_scores_as_one_fitted_here(planted: Dataset, tmp_path: Path) -> None:
    histories = planted.histories()
    for name in ("itemknn", "ease"):
        child = fit_isolated(name, create(name), planted, tmp_path / name)
        here = create(name).fit(planted)
        np.testing.assert_array_equal(child.score(histories), here.score(histories))
        assert (tmp_path / name / "model.json").exists()  # saved where asked, as soon as fitted


def test_an_exception_in_the_child_is_reported_with_its_message(planted: Dataset, tmp_path: Path) -> None:
    with pytest.raises(FitFailed, match=r"raising: ValueError: planted failure on 12 items") as caught:
        fit_isolated("raising", RaisingRecommender(), planted, tmp_path / "m")
    assert caught.value.crashed is False


def test_a_native_crash_in_the_child_is_reported_by_signal(planted: Dataset, tmp_path: Path) -> None:
    with pytest.raises(FitFailed, match=r"segfault: the fitting process died with SIGSEGV") as caught:
        fit_isolated("segfault", SegfaultRecommender(), planted, tmp_path / "m")
    assert caught.value.crashed is True
    assert not (tmp_path / "m" / "model.json").exists()


@pytest.mark.parametrize("isolate", [True, False])
def test_one_failure_never_costs_the_other_models(planted: Dataset, tmp_path: Path, isolate: bool) -> None:
    models = {"popularity": create("popularity"), "raising": RaisingRecommender(), "itemknn": create("itemknn")}
    if isolate:
        models["segfault"] = SegfaultRecommender()  # in-process this would end the test run itself
    models["ease"] = create("ease")
    seen: list[tuple[str, bool]] = []
    fitted, seconds, failures = fit_each(models, planted, tmp_path, isolate=isolate,
                                         on_end=lambda name, s, failure: seen.append((name, failure is None)))
    assert list(fitted) == ["popularity", "itemknn", "ease"]
    assert set(failures) == ({"raising", "segfault"} if isolate else {"raising"})
    assert [name for name, ok in seen] == list(models) and set(seconds) == set(models)
    for name in fitted:
        assert (tmp_path / "models" / name / "model.json").exists()
    assert "ValueError: planted failure" in failures["raising"].reason
