"""Assignment: the same shopper always gets the same variant; shares follow the traffic split."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from shoprec.experiments.assignment import assign, bucket


def test_assignment_is_stable_and_is_the_documented_hash() -> None:
    first = [assign("exp-1", f"u{i}", ["A", "B"], [0.5, 0.5]) for i in range(500)]
    again = [assign("exp-1", f"u{i}", ["A", "B"], [0.5, 0.5]) for i in range(500)]
    assert first == again
    digest = hashlib.sha256(b"exp-1:u7").digest()
    assert bucket("exp-1", "u7") == int.from_bytes(digest[:8], "big") / 2**64
    assert assign("exp-1", "u7", ["A", "B"], [0.5, 0.5]) == ("A" if bucket("exp-1", "u7") < 0.5 else "B")


@pytest.mark.parametrize("shares", [(0.5, 0.5), (0.9, 0.1), (0.2, 0.8)])
def test_observed_ratios_follow_the_split(shares: tuple[float, float]) -> None:
    n = 20_000
    counts = Counter(assign("ratio-test", f"shopper-{i}", ["A", "B"], shares) for i in range(n))
    for variant, share in zip("AB", shares, strict=True):
        # binomial sd at n=20,000 is at most 0.0035: 4 sd
        assert abs(counts[variant] / n - share) < 0.014, counts


def test_experiments_assign_independently() -> None:
    users = [f"u{i}" for i in range(4000)]
    one = [assign("first", u, ["A", "B"], [0.5, 0.5]) for u in users]
    two = [assign("second", u, ["A", "B"], [0.5, 0.5]) for u in users]
    both_a = sum(a == b == "A" for a, b in zip(one, two, strict=True)) / len(users)
    assert abs(both_a - 0.25) < 0.03  # unrelated: a quarter are A in both
