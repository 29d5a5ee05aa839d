"""Workspace configuration: event weights and time decay.

Read from `<workspace>/shoprec.toml` when it exists; every value has a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from shoprec.data.schema import EVENT_TYPES
from shoprec.errors import ConfigError

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "add_to_cart": 3.0,
    "remove_from_cart": 0.0,
    "purchase": 5.0,
    "rating": 1.0,
    "review": 2.0,
    "search": 0.0,
    # A return takes back what its purchase gave: weights are summed per shopper and item, and only
    # a positive total counts, so a returned purchase leaves the item's other signals (views, cart).
    "return": -5.0,
}


@dataclass(frozen=True)
class WeightConfig:
    """How much each event type counts, and how fast old events fade.

    `half_life_days=None` means no time decay; otherwise an event `d` days older than the
    reference time counts `0.5 ** (d / half_life_days)` of its type weight.
    """

    event_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    half_life_days: float | None = None

    def __post_init__(self) -> None:
        for name, weight in self.event_weights.items():
            if name not in EVENT_TYPES:
                raise ConfigError(f"event_weights: unknown event type '{name}', expected one of {', '.join(EVENT_TYPES)}")
            if weight < 0 and name != "return":
                raise ConfigError(f"event_weights.{name} must be >= 0 (only 'return' may be negative), got {weight}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ConfigError(f"half_life_days must be > 0, got {self.half_life_days}")

    def weight_of(self, event_type: str) -> float:
        """The weight of one event type (0 for a type with no weight set)."""
        return self.event_weights.get(event_type, 0.0)

    def weight_vector(self) -> list[float]:
        """Weights indexed by event type code (see schema.EVENT_TYPE_CODE)."""
        return [self.weight_of(name) for name in EVENT_TYPES]

    @classmethod
    def from_toml(cls, path: Path) -> WeightConfig:
        """Read `[weights]` (event type = weight) and `half_life_days` from a TOML file."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        weights = dict(DEFAULT_EVENT_WEIGHTS)
        for name, value in raw.get("weights", {}).items():
            if not isinstance(value, (int, float)):
                raise ConfigError(f"{path}: weights.{name} must be a number, got {value!r}")
            weights[name] = float(value)
        half_life = raw.get("half_life_days")
        return cls(event_weights=weights, half_life_days=None if half_life is None else float(half_life))

    @classmethod
    def for_workspace(cls, workspace: Path) -> WeightConfig:
        """The workspace's configuration, or the defaults when it has no shoprec.toml."""
        path = workspace / "shoprec.toml"
        return cls.from_toml(path) if path.exists() else cls()
