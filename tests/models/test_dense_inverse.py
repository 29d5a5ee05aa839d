"""The dense SPD inverse: which LAPACK build each size is routed to, and each route's answer against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.errors import ConfigError
from shoprec.models import dense_inverse
from shoprec.models.dense_inverse import INT32_LAPACK_MAX_BYTES, InversePlan, plan_inverse, spd_inverse
from shoprec.models.ease import EASERecommender
from tests.models.random_shop import shop


def spd(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).random((3 * n, n))
    return x.T @ x + 2.0 * np.eye(n)


def test_the_real_limit_is_two_gib_so_scipy_takes_float64_below_16384_and_float32_to_23170() -> None:
    assert INT32_LAPACK_MAX_BYTES == 2**31 - 1
    # 16383^2 * 8 bytes = 2,147,221,512 < 2^31; 16384^2 * 8 = 2^31 exactly: too big for int32 offsets
    assert plan_inverse(16_383, "float64", scipy_ilp64=False) == InversePlan("scipy", "float64")
    assert plan_inverse(16_384, "float64", scipy_ilp64=False, numpy_ilp64=True) == InversePlan("numpy", "float64")
    # float32: 23170^2 * 4 = 2,147,395,600 < 2^31; 23171^2 * 4 > 2^31
    assert plan_inverse(23_170, scipy_ilp64=False) == InversePlan("scipy", "float32")
    assert plan_inverse(23_171, scipy_ilp64=False, numpy_ilp64=True) == InversePlan("numpy", "float32")
    assert plan_inverse(23_171, "float32", scipy_ilp64=False, numpy_ilp64=True) == InversePlan("numpy", "float32")


def test_auto_is_float32_and_a_64_bit_scipy_takes_every_size() -> None:
    assert plan_inverse(100) == InversePlan("scipy", "float32")
    assert plan_inverse(30_000, scipy_ilp64=True) == InversePlan("scipy", "float32")
    assert plan_inverse(30_000, "float64", scipy_ilp64=True) == InversePlan("scipy", "float64")


def test_without_any_64_bit_build_a_too_large_inverse_is_refused_naming_the_way_out() -> None:
    with pytest.raises(ConfigError, match=r"30000 x 30000 float32.*2 GiB.*itemknn"):
        plan_inverse(30_000, scipy_ilp64=False, numpy_ilp64=False)
    with pytest.raises(ConfigError, match="precision must be one of"):
        plan_inverse(10, "float16")


def test_the_installed_builds_are_read_from_their_configuration() -> None:
    # numpy's wheels ship OpenBLAS with 64-bit integers; scipy's with 32 (the cause of the crash)
    assert dense_inverse._numpy_is_ilp64() is True
    assert dense_inverse._scipy_is_ilp64() is False


@pytest.mark.parametrize(("plan", "rtol"), [
    (InversePlan("scipy", "float64"), 1e-10),
    (InversePlan("scipy", "float32"), 1e-4),
    (InversePlan("numpy", "float32"), 1e-4),
    (InversePlan("numpy", "float64"), 1e-10),
])
def test_every_route_inverts_like_numpy(plan: InversePlan, rtol: float) -> None:
    # 2500 rows: more than one block of the triangle mirroring
    n = 2500 if plan.library == "scipy" else 300
    matrix = spd(n, seed=n)
    expected = np.linalg.inv(matrix)
    inverse, used = spd_inverse(lambda dtype: matrix.astype(dtype), n, plan=plan)
    assert used == plan and inverse.dtype == np.dtype(plan.dtype) and inverse.flags.c_contiguous
    if plan.library == "scipy":  # the Cholesky route mirrors one triangle: exactly symmetric
        np.testing.assert_array_equal(inverse, inverse.T)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(inverse / scale, expected / scale, rtol=0, atol=rtol)


def test_a_matrix_that_is_not_positive_definite_is_a_clear_error() -> None:
    matrix = -np.eye(4)
    with pytest.raises(ConfigError, match="not positive definite"):
        spd_inverse(lambda dtype: matrix.astype(dtype), 4, plan=InversePlan("scipy", "float64"))


def test_ease_routes_by_size_and_every_route_gives_the_exact_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    dataset, x = shop(5, n_users=40, n_items=30)
    exact = EASERecommender(l2=3.0, precision="float64").fit(dataset)
    assert exact.inverse_ == {"library": "scipy", "dtype": "float64"}
    p = np.linalg.inv(x.T @ x + 3.0 * np.eye(30))
    np.testing.assert_allclose(exact.item_item_weights_, np.eye(30) - p / np.diag(p)[None, :], rtol=1e-5, atol=1e-7)
    default = EASERecommender(l2=3.0).fit(dataset)
    assert default.inverse_ == {"library": "scipy", "dtype": "float32"}
    np.testing.assert_allclose(default.item_item_weights_, exact.item_item_weights_, rtol=1e-3, atol=1e-5)
    # a 30 x 30 float32 matrix is 3,600 bytes: with a 3,000-byte limit numpy's 64-bit-index LAPACK takes it
    monkeypatch.setattr(dense_inverse, "INT32_LAPACK_MAX_BYTES", 3_000)
    numpy_route = EASERecommender(l2=3.0).fit(dataset)
    assert numpy_route.inverse_ == {"library": "numpy", "dtype": "float32"}
    np.testing.assert_allclose(numpy_route.item_item_weights_, exact.item_item_weights_, rtol=1e-3, atol=1e-5)
    # float64 past its 7,200 bytes also leaves scipy
    forced = EASERecommender(l2=3.0, precision="float64").fit(dataset)
    assert forced.inverse_ == {"library": "numpy", "dtype": "float64"}


def test_ease_refuses_an_unknown_precision() -> None:
    dataset, _ = shop(6, n_users=10, n_items=5)
    with pytest.raises(ConfigError, match="precision must be one of"):
        EASERecommender(precision="half").fit(dataset)
