"""What every search stage hands the next: (item id, score) pairs, best first."""

from __future__ import annotations

Scored = list[tuple[str, float]]
