"""Team-draft interleaving: merging by hand-checked rules, and click credit per team."""

from __future__ import annotations

from shoprec.experiments.interleaving import credit, outcome, team_draft


def _coins(seed: str, n: int) -> list[bool]:
    import hashlib
    import random

    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    return [rng.random() < 0.5 for _ in range(n)]


def test_team_draft_follows_the_captains_rule() -> None:
    a = ["a1", "s1", "a2", "a3", "a4"]
    b = ["s1", "b1", "b2", "a2", "b3"]
    merged = team_draft(a, b, 6, "request-1")
    teams = [t for _, t in merged]
    items = [i for i, _ in merged]
    assert len(set(items)) == 6
    # After every two picks the teams have as many picks each (equal lists, none exhausted).
    for end in (2, 4, 6):
        assert teams[:end].count("A") == teams[:end].count("B") == end // 2
    # Each pick is the team's best item not yet shown.
    shown: set[str] = set()
    for item, team in merged:
        own = a if team == "A" else b
        assert item == next(x for x in own if x not in shown)
        shown.add(item)
    # The coin (one toss per round, seeded by the request) decides who picks first in each pair.
    coins = _coins("request-1", 6)
    for round_start in (0, 2, 4):
        assert teams[round_start] == ("A" if coins[round_start] else "B")
    assert team_draft(a, b, 6, "request-1") == merged  # the same request merges the same way


def test_team_draft_hand_made_case() -> None:
    # Coins for "seed-x": whichever they are, with a = [1, 2, 3] and b = [2, 4, 5], the first pick
    # decides the rest; both possible merges, worked out by hand.
    merged = team_draft(["1", "2", "3"], ["2", "4", "5"], 4, "seed-x")
    a_first = [("1", "A"), ("2", "B"), ("3", "A"), ("4", "B")]
    b_first_then_b = [("2", "B"), ("1", "A")]
    assert merged == a_first or merged[:2] == b_first_then_b
    coins = _coins("seed-x", 4)
    if coins[0]:
        assert merged == a_first
    else:
        # B took 2, A takes 1; third round: coin 2 picks; A's next is 3, B's next is 4
        third = ("3", "A") if coins[2] else ("4", "B")
        fourth = ("4", "B") if coins[2] else ("3", "A")
        assert merged == [("2", "B"), ("1", "A"), third, fourth]


def test_an_exhausted_team_lets_the_other_pick() -> None:
    merged = team_draft(["x"], ["y", "z", "w"], 4, "s")
    assert sorted(i for i, _ in merged) == ["w", "x", "y", "z"]
    assert [t for i, t in merged if i == "x"] == ["A"]


def test_clicks_are_credited_to_the_team_of_their_slot() -> None:
    slots = ["A", "B", "B", "A", "B"]
    assert credit(slots, [1, 2, 3]) == {"A": 1, "B": 2}
    assert credit(slots, [1, 1, 4]) == {"A": 2}  # a slot counts once
    assert credit(slots, [0, 6, 99]) == {}  # outside the list
    assert outcome(credit(slots, [1, 2, 3]), ("A", "B")) == "B"
    assert outcome(credit(slots, [1, 2]), ("A", "B")) is None  # one each: a tie
    assert outcome({}, ("A", "B")) is None
