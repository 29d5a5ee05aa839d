"""Crediting events to the lists that led to them.

Rules, applied to each shopper's outcomes in time order (shown.py records them):

1. An event posted with the `request_id` of a list is credited to that list, at its `position`
   (1-based; when left out, the place of its item in the list, if there). A `click` or a `view`
   so posted is a click on the list (one per position: a click and the view of the item page it
   opens count once).
2. An add-to-cart or purchase posted without a `request_id` is credited to the shopper's latest
   click (rule 1) at or before it, if that click is at most `window_ms` earlier. A click on a
   list outside the experiment is a latest click too: the purchase after it is then not
   credited to the experiment (last click wins).
3. Anything else is not credited, nor is an event naming a list shown to another shopper.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shoprec.experiments.shown import Outcome, Served

CLICKS = ("click", "view")
CONVERSIONS = ("add_to_cart", "purchase")


@dataclass
class Credited:
    """What one list earned."""

    served: Served
    clicks: set[int] = field(default_factory=set)  # positions clicked
    add_to_carts: list[int] = field(default_factory=list)  # positions (0: unknown)
    purchases: list[int] = field(default_factory=list)
    revenue: float = 0.0


def attribute(served: Mapping[str, Served], outcomes: Iterable[Outcome], window_ms: int) -> dict[str, Credited]:
    """Per request id of `served`, what it earned from `outcomes` (any order; sorted here by time)."""
    credited = {request_id: Credited(s) for request_id, s in served.items()}
    last_click: dict[str, tuple[int, str | None, int]] = {}  # user -> (time, request id or None, position)
    for o in sorted(outcomes, key=lambda o: o.ts_ms):
        if o.request_id is not None:
            target = credited.get(o.request_id)
            if target is not None and target.served.user_id not in (None, o.user_id):
                target = None  # another shopper's list: not theirs to credit
            position = _position(o, target.served) if target is not None else 0
            if o.event_type in CLICKS:
                last_click[o.user_id] = (o.ts_ms, o.request_id if target is not None else None, position)
                if target is not None and position > 0:
                    target.clicks.add(position)
            elif o.event_type in CONVERSIONS and target is not None:
                _convert(target, o, position)
            continue
        if o.event_type not in CONVERSIONS:
            continue
        click = last_click.get(o.user_id)
        if click is None or click[1] is None or o.ts_ms - click[0] > window_ms:
            continue
        _convert(credited[click[1]], o, click[2])
    return credited


def _position(o: Outcome, served: Served) -> int:
    if o.position is not None and 1 <= o.position <= len(served.items):
        return int(o.position)
    try:
        return served.items.index(o.item_id) + 1
    except ValueError:
        return 0


def _convert(target: Credited, o: Outcome, position: int) -> None:
    if o.event_type == "add_to_cart":
        target.add_to_carts.append(position)
    else:
        target.purchases.append(position)
        target.revenue += float(o.revenue or 0.0)
