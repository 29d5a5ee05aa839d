"""Attribution: events credited to the list they came from, and carts/purchases to the latest click."""

from __future__ import annotations

from shoprec.experiments.attribution import attribute
from shoprec.experiments.shown import Outcome, Served

HOUR = 3_600_000


def _served() -> dict[str, Served]:
    return {
        "r1": Served("r1", 0, "u1", "recommendations", "exp", "A", ["i1", "i2", "i3"]),
        "r2": Served("r2", 10, "u2", "recommendations", "exp", "B", ["i4", "i5"]),
    }


def test_events_with_a_request_id_are_credited_at_their_position() -> None:
    credited = attribute(_served(), [
        Outcome(100, "u1", "i2", "click", request_id="r1", position=2),
        Outcome(101, "u1", "i2", "view", request_id="r1"),  # the item page it opened: the same click
        Outcome(102, "u1", "i3", "click", request_id="r1"),  # no position: the item's place
        Outcome(103, "u1", "i9", "click", request_id="r1"),  # not in the list, no position: not a click
        Outcome(104, "u1", "i1", "add_to_cart", request_id="r1", position=1),
        Outcome(105, "u1", "i1", "purchase", 30.0, request_id="r1", position=1),
    ], window_ms=24 * HOUR)
    assert credited["r1"].clicks == {2, 3}
    assert credited["r1"].add_to_carts == [1] and credited["r1"].purchases == [1] and credited["r1"].revenue == 30.0
    assert not credited["r2"].clicks


def test_purchases_without_a_request_id_go_to_the_latest_click_within_the_window() -> None:
    credited = attribute(_served(), [
        Outcome(1_000, "u1", "i1", "click", request_id="r1", position=1),
        Outcome(2_000, "u1", "i3", "click", request_id="r1", position=3),
        Outcome(3_000, "u1", "i3", "purchase", 12.5),  # latest click: position 3
        Outcome(4_000, "u1", "i3", "add_to_cart"),
        Outcome(2_000 + 24 * HOUR + 1, "u1", "i1", "purchase", 99.0),  # past the window
        Outcome(5_000, "u2", "i4", "purchase", 7.0),  # u2 never clicked
    ], window_ms=24 * HOUR)
    assert credited["r1"].purchases == [3] and credited["r1"].revenue == 12.5
    assert credited["r1"].add_to_carts == [3]
    assert credited["r2"].purchases == []


def test_a_later_click_outside_the_experiment_takes_the_credit() -> None:
    credited = attribute(_served(), [
        Outcome(1_000, "u1", "i1", "click", request_id="r1", position=1),
        Outcome(2_000, "u1", "i7", "click", request_id="elsewhere", position=1),
        Outcome(3_000, "u1", "i7", "purchase", 5.0),
    ], window_ms=24 * HOUR)
    assert credited["r1"].purchases == []


def test_a_list_shown_to_another_shopper_is_not_credited() -> None:
    credited = attribute(_served(), [Outcome(100, "u2", "i1", "click", request_id="r1", position=1),
                                     Outcome(200, "u2", "i1", "purchase", 3.0)], window_ms=HOUR)
    assert not credited["r1"].clicks and not credited["r1"].purchases
