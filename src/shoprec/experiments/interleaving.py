"""Team-draft interleaving (Radlinski, Kurup and Joachims, "How does clickthrough data reflect
retrieval quality?", CIKM 2008): one list shown, built from two rankers' lists, each click
credited to the ranker ("team") that put the clicked item there.

Merging: like captains picking players, the team with fewer picks so far picks next (a coin toss,
seeded by the request, when both have as many); it takes its best item not yet in the list. A
request's outcome: the team credited with more clicks wins; equal credit (or no click) is a tie.
Over requests, wins of A against wins of B under the null hypothesis of no preference are a fair
coin: a two-sided binomial sign test (scipy) gives the p-value.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence


def team_draft(first: Sequence[str], second: Sequence[str], k: int, seed: str,
               teams: tuple[str, str] = ("A", "B")) -> list[tuple[str, str]]:
    """The interleaved list of at most `k` items as (item, team); `seed` (the request id) decides the
    coin tosses, so the same request merges the same way."""
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    lists = (list(first), list(second))
    next_at = [0, 0]
    picks = [0, 0]
    taken: set[str] = set()
    out: list[tuple[str, str]] = []

    def remaining(team: int) -> bool:
        while next_at[team] < len(lists[team]) and lists[team][next_at[team]] in taken:
            next_at[team] += 1
        return next_at[team] < len(lists[team])

    while len(out) < k:
        left = [remaining(0), remaining(1)]
        if not any(left):
            break
        coin = rng.random() < 0.5  # tossed every round, so a request's merge depends only on its seed
        team = (0 if picks[0] < picks[1] else 1) if picks[0] != picks[1] else (0 if coin else 1)
        if not left[team]:
            team = 1 - team
        item = lists[team][next_at[team]]
        taken.add(item)
        out.append((item, teams[team]))
        picks[team] += 1
    return out


def credit(slot_teams: Sequence[str], clicked_positions: Iterable[int]) -> dict[str, int]:
    """Clicks per team for one request: `clicked_positions` are 1-based slots of the shown list
    (each counted once; positions outside the list are ignored)."""
    counts: dict[str, int] = {}
    for position in set(clicked_positions):
        if 1 <= position <= len(slot_teams):
            team = slot_teams[position - 1]
            counts[team] = counts.get(team, 0) + 1
    return counts


def outcome(counts: dict[str, int], teams: tuple[str, str]) -> str | None:
    """The team that won the request (more credited clicks), or None for a tie."""
    a, b = counts.get(teams[0], 0), counts.get(teams[1], 0)
    return teams[0] if a > b else teams[1] if b > a else None
