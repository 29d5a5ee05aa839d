"""The inverse of a dense symmetric positive definite matrix (EASE's regularised Gram matrix),
routed to a LAPACK build that is safe at its size.

scipy's wheels ship a 32-bit-index OpenBLAS ("has ilp64": false in `scipy.show_config()`). On some
processors its factorisations crash the whole process with SIGSEGV once the matrix passes 2 GiB
(seen with scipy 1.17.1 on a 16,000 x 16,000 float64 matrix: `inv`, `cho_factor`, `dpotrf`), so
no matrix of 2 GiB or more is ever handed to it. numpy's wheels ship the 64-bit-index build
(`USE64BITINT`), which inverts such a matrix correctly, at about three times the cost of a
Cholesky inverse (LU with n right-hand sides, and a second n x n array).

The route for an n x n matrix, with `precision="auto"` (float32: on MovieLens and REES46, three
protocols each, EASE's NDCG@10 in float32 is within 0.0002 of float64's at l2 500 and at l2 10, and
the fit is 1.4 to 4 times faster; docs/models.md, benchmarks/bench_ease.py):
  1. float32 through scipy (Cholesky: potrf + potri, in place) while 4 n^2 bytes stay under
     2 GiB (n <= 23,170);
  2. float32 through numpy's 64-bit-index LAPACK above that.
`precision="float64"` keeps float64 (through scipy below n = 16,384, numpy above), and
`"float32"` is auto's choice; no route hands the 32-bit-index build 2 GiB or more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shoprec.errors import ConfigError

# The largest array (in bytes) handed to a 32-bit-index LAPACK: one byte under 2 GiB.
INT32_LAPACK_MAX_BYTES = 2**31 - 1
PRECISIONS = ("auto", "float64", "float32")
# Rows mirrored per step when potri's lower triangle is copied to the upper one (bounded memory).
_MIRROR_BLOCK = 1024


@dataclass(frozen=True)
class InversePlan:
    """How an n x n matrix will be inverted: which library, in which number type."""

    library: str  # "scipy" (Cholesky, 32- or 64-bit indices as built) or "numpy" (64-bit indices)
    dtype: str  # "float64" or "float32"

    def describe(self) -> str:
        method = "Cholesky (potrf + potri)" if self.library == "scipy" else "LU (numpy's 64-bit-index LAPACK)"
        return f"{self.dtype} {method}"


def _scipy_is_ilp64() -> bool:
    import scipy

    return bool(_build_dependency(scipy, "lapack").get("has ilp64", False))


def _numpy_is_ilp64() -> bool:
    config = str(_build_dependency(np, "lapack").get("openblas configuration", ""))
    return "USE64BITINT" in config


def _build_dependency(module: object, name: str) -> dict[str, object]:
    config = getattr(getattr(module, "__config__", None), "CONFIG", {})
    entry = config.get("Build Dependencies", {}).get(name, {})
    return entry if isinstance(entry, dict) else {}


def plan_inverse(n: int, precision: str = "auto", *, max_bytes: int | None = None,
                 scipy_ilp64: bool | None = None, numpy_ilp64: bool | None = None) -> InversePlan:
    """The route for an n x n inverse (see the module docstring). The ILP64 flags are read from the
    installed builds and `max_bytes` is INT32_LAPACK_MAX_BYTES unless given (tests route with small
    limits)."""
    max_bytes = INT32_LAPACK_MAX_BYTES if max_bytes is None else max_bytes
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    scipy_ilp64 = _scipy_is_ilp64() if scipy_ilp64 is None else scipy_ilp64
    numpy_ilp64 = _numpy_is_ilp64() if numpy_ilp64 is None else numpy_ilp64

    def scipy_takes(itemsize: int) -> bool:
        return scipy_ilp64 or n * n * itemsize <= max_bytes

    dtype = "float32" if precision == "auto" else precision
    if scipy_takes(np.dtype(dtype).itemsize):
        return InversePlan("scipy", dtype)
    if numpy_ilp64 or n * n * np.dtype(dtype).itemsize <= max_bytes:
        return InversePlan("numpy", dtype)
    raise ConfigError(
        f"a {n} x {n} {dtype} inverse passes {max_bytes / 2**30:.0f} GiB and neither scipy's nor numpy's LAPACK "
        "here has 64-bit indices, so it would crash the process: use fewer items (itemknn for a large catalogue)"
    )


def spd_inverse(build: Callable[[np.dtype], np.ndarray], n: int, precision: str = "auto",
                plan: InversePlan | None = None) -> tuple[np.ndarray, InversePlan]:
    """The inverse of the symmetric positive definite matrix that `build(dtype)` returns (a fresh,
    writable n x n array: it is overwritten), and the plan that computed it.

    The matrix is built in the plan's number type, so a float32 route never holds a float64 copy.
    """
    plan = plan or plan_inverse(n, precision)
    matrix = build(np.dtype(plan.dtype))
    if matrix.shape != (n, n) or matrix.dtype != np.dtype(plan.dtype):
        raise ValueError(f"expected a {n} x {n} {plan.dtype} matrix, got {matrix.shape} {matrix.dtype}")
    if plan.library == "numpy":
        return np.linalg.inv(matrix), plan
    return _cholesky_inverse(matrix), plan


def _cholesky_inverse(matrix: np.ndarray) -> np.ndarray:
    """In place: potrf then potri on the lower triangle, mirrored to the upper one."""
    from scipy.linalg import lapack

    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    # A C-ordered symmetric matrix is its own transpose, which is Fortran-ordered: LAPACK works on
    # the same memory, no copy. Its "lower" triangle is the C array's upper one.
    fortran = matrix.T
    factor, info = potrf(fortran, lower=True, overwrite_a=True, clean=False)
    if info > 0:
        raise ConfigError(
            f"the matrix is not positive definite in {matrix.dtype} (leading minor {info}): raise l2, or set "
            "precision='float64'"
        )
    if info < 0:
        raise ValueError(f"potrf: argument {-info} is invalid")
    inverse, info = potri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise ConfigError(f"the matrix is singular in {matrix.dtype} (potri info {info}): raise l2")
    result = inverse.T  # C-ordered again; its upper triangle holds the inverse
    _mirror_upper_to_lower(result)
    return result


def _mirror_upper_to_lower(matrix: np.ndarray) -> None:
    """Copy the upper triangle onto the lower one, a block of rows at a time."""
    n = matrix.shape[0]
    for start in range(0, n, _MIRROR_BLOCK):
        stop = min(start + _MIRROR_BLOCK, n)
        # rows start:stop, columns before `start`: the transpose of columns start:stop above them
        matrix[start:stop, :start] = matrix[:start, start:stop].T
        block = matrix[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        block[lower] = block.T[lower]
