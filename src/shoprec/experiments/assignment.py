"""Which variant a shopper sees: a stable hash of the experiment's name and the shopper's id.

The first 8 bytes of sha256("EXPERIMENT:USER_ID"), read as an integer and divided by 2**64, give
a number in [0, 1) that never changes for the pair, in any process, on any machine; the traffic
split cuts [0, 1) into consecutive ranges, one per variant. Another experiment name reshuffles
shoppers independently (hashes of different strings are unrelated).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def bucket(experiment: str, user_id: str) -> float:
    """The shopper's place in [0, 1) for this experiment."""
    digest = hashlib.sha256(f"{experiment}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(experiment: str, user_id: str, variants: Sequence[str], traffic: Sequence[float]) -> str:
    """The variant of `user_id` in `experiment`: `traffic` are the variants' shares (summing to 1)."""
    point = bucket(experiment, user_id)
    edge = 0.0
    for variant, share in zip(variants, traffic, strict=True):
        edge += share
        if point < edge:
            return variant
    return variants[-1]  # rounding: shares summing to 0.9999999
