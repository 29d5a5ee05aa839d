"""A seeded synthetic shop: catalogue, users with taste clusters, and a believable event log.

    shop = generate_shop(ShopSpec(users=2_000, items=1_000, events=100_000, lang="zh"))
    for chunk in shop.event_chunks():  # canonical event frames, generated on the fly
        ...
    write_shop_files(shop, Path("shop"), "parquet")

The same spec always gives the same shop; events are made block by block, so memory stays bounded
whatever the number of events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from shoprec.data import schema as S
from shoprec.data.synthetic.behaviour import BLOCK_EVENTS, SessionSampler, build_shoppers
from shoprec.data.synthetic.catalog import build_catalog
from shoprec.data.synthetic.files import FILE_FORMATS, write_shop_files
from shoprec.data.synthetic.vocabulary import LANGUAGES, vocabulary
from shoprec.errors import ConfigError

__all__ = ["FILE_FORMATS", "ShopSpec", "SyntheticShop", "generate_shop", "write_shop_files"]


@dataclass(frozen=True)
class ShopSpec:
    """What shop to make: its size, seed, language ("en" or "zh") and the days it covers (UTC)."""

    users: int = 2_000
    items: int = 1_000
    events: int = 100_000
    seed: int = 42
    lang: str = "en"
    start: str = "2024-09-01"
    days: int = 120

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        for name in ("users", "items", "days"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.events < 0:
            raise ConfigError(f"events must be >= 0, got {self.events}")
        if self.lang not in LANGUAGES:
            raise ConfigError(f"lang must be one of {', '.join(LANGUAGES)}, got {self.lang!r}")
        try:
            pd.Timestamp(self.start)
        except ValueError as exc:
            raise ConfigError(f"start must be a date like 2024-09-01, got {self.start!r}") from exc

    @property
    def start_time(self) -> pd.Timestamp:
        """Midnight UTC of the first day."""
        stamp = pd.Timestamp(self.start)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).normalize()


class SyntheticShop:
    """A generated shop: the items and users frames, and its events, made on demand."""

    def __init__(self, spec: ShopSpec, items: pd.DataFrame, users: pd.DataFrame, taste_clusters: pd.DataFrame,
                 sampler: SessionSampler) -> None:
        self.spec = spec
        self.items = items  # schema.ITEM_COLUMNS
        self.users = users  # schema.USER_COLUMNS
        # cluster ("cluster_3", as in a user's attributes "segment"), departments, brands, price_sensitivity
        self.taste_clusters = taste_clusters
        self._sampler = sampler

    def event_tables(self, chunk_size: int = 1_000_000) -> Iterator[pa.Table]:
        """The event log as Arrow tables of `chunk_size` rows (the last may be shorter), schema.EVENT_SCHEMA."""
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
        pending: list[pa.Table] = []
        pending_rows, next_session = 0, 0
        n_blocks = -(-self.spec.events // BLOCK_EVENTS)
        for index in range(n_blocks):
            size = min(BLOCK_EVENTS, self.spec.events - index * BLOCK_EVENTS)
            table, sessions = self._sampler.block(index, size, next_session)
            next_session += sessions
            pending.append(table)
            pending_rows += size
            while pending_rows >= chunk_size:
                joined = pa.concat_tables(pending)
                yield joined.slice(0, chunk_size)
                rest = joined.slice(chunk_size)
                pending, pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        if pending_rows:
            yield pa.concat_tables(pending)

    def event_chunks(self, chunk_size: int = 1_000_000) -> Iterator[pd.DataFrame]:
        """The event log as canonical frames (schema.EVENT_COLUMNS), `chunk_size` rows each.

        Together the chunks hold exactly `spec.events` events, the same whatever the chunk size;
        within a session events are in time order, across sessions the log is not sorted. Sessions
        start within the spec's days (a late-night session may run a few minutes past the last).
        """
        for table in self.event_tables(chunk_size):
            yield table.to_pandas()

    def events(self) -> pd.DataFrame:
        """All events in one frame; for small shops (tests, examples)."""
        frames = list(self.event_chunks())
        if not frames:
            return S.EVENT_SCHEMA.empty_table().to_pandas()
        return pd.concat(frames, ignore_index=True)


def generate_shop(spec: ShopSpec) -> SyntheticShop:
    """Build the catalogue and users of `spec`; events are made when iterated."""
    vocab = vocabulary(spec.lang)
    catalog = build_catalog(np.random.default_rng([spec.seed, 0]), spec.items, vocab)
    shoppers = build_shoppers(np.random.default_rng([spec.seed, 1]), spec.users, catalog, vocab)
    sampler = SessionSampler(spec.seed, catalog, shoppers, spec.start_time, spec.days, spec.lang)
    return SyntheticShop(spec, catalog.items, shoppers.users, shoppers.taste_clusters, sampler)
