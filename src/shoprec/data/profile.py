"""The data profile of an ingest: cheap counts gathered chunk by chunk, and the warnings they raise.

Ingest feeds the profile each chunk: the raw columns (before validation: a float id column past
2^53 has lost digits before any text exists) and the valid canonical rows. At the end `finish` turns
the counts, the quarantine's counts and the catalogue into warnings, each a dict
`{"code", "message", "count"?, "examples"?, "what_to_do"}` (codes and thresholds below; docs/data.md
"Warnings of the data profile"). The latest profile is kept in the workspace (`PROFILE_FILE`) for a
status command: `latest_warnings(workspace)`.

Memory is bounded whatever the size of the log: the per-shopper counts (for "one id holds a quarter of
the events") are a Misra-Gries summary of `HEAVY_HITTER_COUNTERS` counters, exact while there are no
more distinct shoppers than that, and past it every count is low by at most events / counters (0.005%
of the events: nothing next to the 5% looked for); the ids kept as examples of a mangling are capped
at `MAX_TRACKED_IDS` per column; everything else is a running count.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shoprec.atomic import write_atomic
from shoprec.data import schema as S

# ---- thresholds ----------------------------------------------------------------------------------
MIN_EVENTS = 100                 # the share-based event checks need at least this many valid events
PLACEHOLDER_SHARE = 0.05         # one user id holding more than this share of the events ...
PLACEHOLDER_MIN_EVENTS = 100     # ... and at least this many of them ...
PLACEHOLDER_TIMES_MEAN = 20      # ... and this many times the mean shopper's is a placeholder, not a shopper
PLACEHOLDER_NAME_SHARE = 0.01    # an id that reads like a placeholder needs only this share ...
PLACEHOLDER_NAME_MIN_EVENTS = 10  # ... and this many events
PLACEHOLDER_NAMES = frozenset({"guest", "anonymous", "anon", "unknown", "0", "-1", "na", "n/a", "nan", "null",
                               "none", "nil", "undefined", "-", "(null)", "missing", "default", "test"})
DAY_GRANULARITY_SHARE = 0.99     # more than this share of event times at midnight UTC: dates without times
PRICE_CENTS_MEDIAN = 10_000      # all prices whole numbers and the median above this: cents?
PRICE_MICROS_MEDIAN = 1_000_000  # ... above this: micros (millionths)?
MIN_PRICES = 10                  # the price check needs at least this many prices
DUPLICATE_SHARE = 0.20           # more than this share of a file's events repeat another event of the file
TITLELESS_SHARE = 0.10           # more than this share of the catalogue without a title
UNKNOWN_ITEMS_SHARE = 0.05       # more than this share of the events name items outside the catalogue
FLOAT_SUFFIX_SHARE = 0.01        # ids written as '123.0' in at least this share of a column's values
TRUNCATED_SHARE = 0.5            # of the distinct ids of 16+ digits, this share ends in zeros past digit 15 ...
TRUNCATED_MIN_IDS = 10           # ... and at least this many: a spreadsheet kept 15 significant digits
FLOAT_EXACT_LIMIT = 2**53        # a float64 id column above this has lost digits
HEAVY_HITTER_COUNTERS = 20_000
MAX_TRACKED_IDS = 100_000
EXAMPLES = 3

PROFILE_FILE = "ingest-profile.json"  # under <workspace>/store/

# Excel and R write a big number as d.dddE+dd (one digit before the point, a signed exponent); an
# alphanumeric SKU such as 2E4 does not match.
_SCIENTIFIC = r"^[+-]?[0-9](\.[0-9]+)?[eE][+-][0-9]+$"
_FLOAT_SUFFIX = r"^[+-]?[0-9]+\.0+$"
_LONG_NUMBER = r"^[0-9]{16,}$"
_TRUNCATED = r"^[1-9][0-9]{14}0+$"  # 16+ digits, all zero past the 15th significant digit
_ID_COLUMNS = {"events": (S.USER_ID, S.ITEM_ID), "items": (S.ITEM_ID,), "users": (S.USER_ID,)}
_WHO = {S.USER_ID: "shoppers", S.ITEM_ID: "items"}


@dataclass
class _Mangled:
    """Ids of one column in one mangled form: rows, distinct values (capped), examples."""

    rows: int = 0
    distinct: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)

    def add(self, counts: pd.Series) -> None:
        self.rows += int(counts.sum())
        for value in counts.index[: max(0, MAX_TRACKED_IDS - len(self.distinct))]:
            self.distinct.add(str(value))
        self.examples.extend(str(v) for v in counts.index[: EXAMPLES - len(self.examples)])


@dataclass
class _IdStats:
    values: int = 0
    long_numbers: int = 0  # distinct per chunk, summed: a ratio, not a count
    truncated_numbers: int = 0
    mangled: dict[str, _Mangled] = field(default_factory=dict)

    def form(self, code: str) -> _Mangled:
        return self.mangled.setdefault(code, _Mangled())


class Profile:
    """Counts of one ingest, fed chunk by chunk (`raw`, `events`, `table`), read by `finish`."""

    def __init__(self) -> None:
        self.ids: dict[str, _IdStats] = {}
        self.events_valid = 0
        self.repeats_within = 0
        self.user_counts = pd.Series(dtype="int64")  # Misra-Gries summary
        self.user_count_error = 0  # every count in user_counts is low by at most this
        self.placeholders: dict[str, int] = {}
        self.midnight = 0
        self.time_range: tuple[int, int] | None = None  # epoch ms
        self.prices = self.whole_prices = self.prices_over_cents = self.prices_over_micros = 0
        self.catalogue_touched = False

    # ---- feeding ---------------------------------------------------------------------------------
    def raw(self, kind: str, frame: pd.DataFrame, columns: Mapping[str, str]) -> None:
        """A raw chunk (after an adapter's `prepare`, before validation); `columns` as in a ColumnMapping."""
        for column in _ID_COLUMNS.get(kind, ()):
            values = frame.get(columns.get(column, column))
            if values is None or not pd.api.types.is_float_dtype(values):
                continue
            lost = values[values.abs() >= FLOAT_EXACT_LIMIT]
            if len(lost):
                shown = lost.map(lambda v: f"{v:.6g}")
                self._ids(column).form("ids_truncated").add(shown.value_counts())

    def events(self, frame: pd.DataFrame, repeats_within: int) -> None:
        """Valid canonical event rows of a chunk, and how many of them repeat an earlier event of this ingest."""
        n = len(frame)
        if not n:
            return
        self.events_valid += n
        self.repeats_within += repeats_within
        users = frame[S.USER_ID].value_counts(sort=False)
        self._count_users(users)
        self._check_ids(S.USER_ID, users)
        self._check_ids(S.ITEM_ID, frame[S.ITEM_ID].value_counts(sort=False))
        ms = frame[S.TIMESTAMP].to_numpy(dtype="datetime64[ms]").view("int64")
        self.midnight += int(np.count_nonzero(ms % 86_400_000 == 0))
        lo, hi = int(ms.min()), int(ms.max())
        self.time_range = (lo, hi) if self.time_range is None else (min(lo, self.time_range[0]), max(hi, self.time_range[1]))
        self._prices(frame)  # inline prices (REES46); ingest sets catalogue_touched when item fields come inline

    def table(self, kind: str, frame: pd.DataFrame) -> None:
        """Valid canonical rows of an items, users or judgments chunk."""
        for column in _ID_COLUMNS.get(kind, ()):
            if column in frame and len(frame):
                self._check_ids(column, frame[column].value_counts(sort=False))
        if kind == "items":
            self.catalogue_touched = True
            self._prices(frame)

    def _ids(self, column: str) -> _IdStats:
        return self.ids.setdefault(column, _IdStats())

    def _check_ids(self, column: str, counts: pd.Series) -> None:
        """Mangled forms among the distinct ids of a chunk (`counts`: rows per id)."""
        stats = self._ids(column)
        stats.values += int(counts.sum())
        values = pa.array(counts.index.to_numpy(dtype=object), type=pa.string())
        for code, pattern in (("ids_scientific_notation", _SCIENTIFIC), ("ids_float_suffix", _FLOAT_SUFFIX)):
            hit = pc.match_substring_regex(values, pattern).to_numpy(zero_copy_only=False)
            if hit.any():
                stats.form(code).add(counts[hit])
        long = pc.match_substring_regex(values, _LONG_NUMBER).to_numpy(zero_copy_only=False)
        if long.any():
            truncated = long & pc.match_substring_regex(values, _TRUNCATED).to_numpy(zero_copy_only=False)
            stats.long_numbers += int(long.sum())
            stats.truncated_numbers += int(truncated.sum())
            if truncated.any():
                stats.form("ids_truncated_text").add(counts[truncated])

    def _count_users(self, counts: pd.Series) -> None:
        """Merge a chunk's counts into the Misra-Gries summary (Agarwal et al.'s mergeable form)."""
        named = counts[counts.index.str.lower().isin(PLACEHOLDER_NAMES)]
        for user, count in named.items():
            self.placeholders[str(user)] = self.placeholders.get(str(user), 0) + int(count)
        merged = counts if self.user_counts.empty else \
            pd.concat([self.user_counts, counts]).groupby(level=0, sort=False).sum()  # no sort, unlike Series.add
        if len(merged) > HEAVY_HITTER_COUNTERS:
            cut = int(merged.nlargest(HEAVY_HITTER_COUNTERS + 1).iloc[-1])
            merged = merged[merged > cut] - cut
            self.user_count_error += cut
        self.user_counts = merged

    def _prices(self, frame: pd.DataFrame) -> None:
        if S.PRICE not in frame or not pd.api.types.is_float_dtype(frame[S.PRICE]):
            return
        price = frame[S.PRICE].to_numpy()
        price = price[~np.isnan(price)]
        self.prices += len(price)
        self.whole_prices += int(np.count_nonzero(price == np.round(price)))
        self.prices_over_cents += int(np.count_nonzero(price > PRICE_CENTS_MEDIAN))
        self.prices_over_micros += int(np.count_nonzero(price > PRICE_MICROS_MEDIAN))

    # ---- the warnings ------------------------------------------------------------------------------
    def finish(self, *, rejected: Mapping[str, int], events_accepted: int, events_with_unknown_items: int,
               unknown_items: int, catalogue: pd.DataFrame | None) -> list[dict[str, object]]:
        """The warnings of this ingest, in a stable order."""
        found = self._id_warnings()
        found += self._event_warnings(rejected)
        found += self._catalogue_warnings(events_accepted, events_with_unknown_items, unknown_items, catalogue)
        return found

    def _id_warnings(self) -> list[dict[str, object]]:
        found = []
        for column, stats in sorted(self.ids.items()):
            who = _WHO.get(column, "ids")
            sci = stats.mangled.get("ids_scientific_notation")
            if sci is not None:
                found.append(_warning(
                    "ids_scientific_notation", sci,
                    f"{column}: {sci.rows:,} values like '{sci.examples[0]}' are numbers a spreadsheet rounded to scientific "
                    f"notation: distinct {who} may have collapsed onto {_distinct(sci)} ids",
                    "Export the column as text (in a spreadsheet: format it as Text before saving, or export from the "
                    "source system instead), then ingest again: these rows are stored under the rounded ids."))
            lost = stats.mangled.get("ids_truncated")
            text = stats.mangled.get("ids_truncated_text")
            if text is not None and stats.truncated_numbers >= TRUNCATED_MIN_IDS \
                    and stats.truncated_numbers >= TRUNCATED_SHARE * stats.long_numbers:
                found.append(_warning(
                    "ids_truncated", text,
                    f"{column}: {text.rows:,} values like '{text.examples[0]}' end in zeros past the 15th digit, the "
                    f"precision a spreadsheet keeps: distinct {who} may have collapsed onto {_distinct(text)} ids",
                    "Export the column as text from the source system (a spreadsheet that opened the file has already "
                    "rounded it), then ingest again."))
            elif lost is not None:
                found.append(_warning(
                    "ids_truncated", lost,
                    f"{column}: {lost.rows:,} values like '{lost.examples[0]}' are ids beyond 2^53 in a floating-point "
                    f"column, which has lost their last digits: distinct {who} may have collapsed onto {_distinct(lost)} ids",
                    "Write the column as text or as 64-bit integers in the source file, then ingest again."))
            suffix = stats.mangled.get("ids_float_suffix")
            if suffix is not None and suffix.rows >= FLOAT_SUFFIX_SHARE * stats.values:
                found.append(_warning(
                    "ids_float_suffix", suffix,
                    f"{column}: {suffix.rows:,} values like '{suffix.examples[0]}' are whole numbers written as decimals: "
                    f"'12.0' and '12' are different ids, so these {who} match nothing written the other way",
                    "Write the column as integers (pandas: .astype('Int64') before saving; a spreadsheet: a number format "
                    "without decimals), then ingest again."))
        return found

    def _event_warnings(self, rejected: Mapping[str, int]) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        n = self.events_valid
        # shoppers: exact while the counters hold them all; past that, at least as many as the counters
        mean = n / max(len(self.user_counts), HEAVY_HITTER_COUNTERS if self.user_count_error else 1)
        suspects = {str(k): int(v) for k, v in self.user_counts.nlargest(3).items()
                    if v >= PLACEHOLDER_MIN_EVENTS and v > PLACEHOLDER_SHARE * n and v > PLACEHOLDER_TIMES_MEAN * mean}
        suspects.update({k: v for k, v in self.placeholders.items()
                         if v >= PLACEHOLDER_NAME_MIN_EVENTS and v > PLACEHOLDER_NAME_SHARE * n})
        mangled = self.ids.get(S.USER_ID, _IdStats()).mangled.values()  # those have their own warning
        for user in set().union(*(m.distinct for m in mangled)) & suspects.keys():
            del suspects[user]
        for user, count in sorted(suspects.items(), key=lambda kv: -kv[1]):
            at_least = "at least " if self.user_count_error and user not in self.placeholders else ""
            found.append({
                "code": "placeholder_id", "count": count, "examples": [user],
                "message": f"user_id '{user}' holds {at_least}{count:,} of {n:,} events ({count / n:.0%}): a placeholder "
                           "(guests, a missing customer), not one shopper",
                "what_to_do": f"Make it 'no value' (--na-values with '{user}' added to the markers) so these events are "
                              "quarantined as missing_user_id or kept per session with --anonymous-user session; as it is, "
                              "models learn one shopper who did all of it."})
        if n >= MIN_EVENTS and self.midnight > DAY_GRANULARITY_SHARE * n:
            found.append({
                "code": "day_granularity_timestamps", "count": self.midnight,
                "message": f"{self.midnight:,} of {n:,} event times ({self.midnight / n:.1%}) are exactly midnight UTC: "
                           "the file holds dates, not times",
                "what_to_do": "Export the time of day too if the source has it: without it the order of a shopper's "
                              "events within a day is lost (sequence models, 'recently viewed'), and same-day repeats "
                              "look identical."})
        future, ancient = int(rejected.get("future_timestamp", 0)), int(rejected.get("ancient_timestamp", 0))
        if future + ancient:
            found.append({
                "code": "timestamps_out_of_range", "count": future + ancient,
                "message": f"{future + ancient:,} events were quarantined for times in the future ({future:,}) or "
                           f"before the floor ({ancient:,})",
                "what_to_do": "Check the time column's unit (epoch seconds, milliseconds, microseconds) and zone; if "
                              "the times are right, widen --max-future or --time-floor and ingest the quarantined rows again."})
        if self.prices >= MIN_PRICES and self.whole_prices == self.prices and 2 * self.prices_over_cents > self.prices:
            micros = 2 * self.prices_over_micros > self.prices
            unit, median = ("micros (millionths of the currency)", PRICE_MICROS_MEDIAN) if micros else ("cents", PRICE_CENTS_MEDIAN)
            found.append({
                "code": "price_scale", "count": self.prices,
                "message": f"all {self.prices:,} prices are whole numbers with a median above {median:,}: they may be in {unit}",
                "what_to_do": f"If so, divide the price column by {1_000_000 if micros else 100:,} before ingesting: price "
                              "filters, features and the storefront take prices as they are. A currency without minor "
                              "units (yen, won) has such prices: then ignore this."})
        if n >= MIN_EVENTS and self.repeats_within > DUPLICATE_SHARE * n:
            found.append({
                "code": "high_duplicate_rate", "count": self.repeats_within,
                "message": f"{self.repeats_within:,} of {n:,} events ({self.repeats_within / n:.0%}) repeat an earlier "
                           "event of this ingest exactly (merged: stored once)",
                "what_to_do": "Look for a file given twice, a join that multiplied rows, or times too coarse to tell "
                              "events apart. (Repeats of events stored by an earlier ingest are not counted here.)"})
        return found

    def _catalogue_warnings(self, events_accepted: int, events_with_unknown_items: int, unknown_items: int,
                            catalogue: pd.DataFrame | None) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        items = 0 if catalogue is None else len(catalogue)
        if events_accepted and events_with_unknown_items > UNKNOWN_ITEMS_SHARE * events_accepted:
            share = events_with_unknown_items / events_accepted
            where = "the catalogue is empty" if not items else f"{unknown_items:,} item{'s are' if unknown_items != 1 else ' is'} not in the catalogue"
            found.append({
                "code": "unknown_items", "count": events_with_unknown_items,
                "message": f"{events_with_unknown_items:,} of {events_accepted:,} events ({share:.0%}) name items "
                           f"without a catalogue entry: {where}",
                "what_to_do": "Ingest the catalogue (--kind items, or the dataset's item files), or check that the "
                              "events' item id column holds the catalogue's ids in the same form ('123' vs '123.0' vs "
                              "'SKU-123'); until then these items have no title, price or category."})
        if self.catalogue_touched and items and catalogue is not None and S.TITLE in catalogue:
            titles = catalogue[S.TITLE].astype("string").str.strip()
            missing = int((titles.isna() | (titles == "")).sum())
            if missing > TITLELESS_SHARE * items:
                found.append({
                    "code": "items_without_titles", "count": missing,
                    "message": f"{missing:,} of {items:,} items ({missing / items:.0%}) have no title",
                    "what_to_do": "Search and the content-based models read titles: add the title column to the items "
                                  "file (--map title=COLUMN) or ingest a catalogue that has one; until then these items "
                                  "are found only by category, brand and description."})
        return found

    def stats(self) -> dict[str, object]:
        """The counts behind the warnings, for the profile file."""
        top = self.user_counts.nlargest(1)
        return {
            "events_valid": self.events_valid,
            "repeats_within_ingest": self.repeats_within,
            "top_user": None if top.empty else {"user_id": str(top.index[0]), "events_at_least": int(top.iloc[0]),
                                                "error_at_most": self.user_count_error},
            "timestamps_at_midnight": self.midnight,
            "time_range": None if self.time_range is None else [_iso(t) for t in self.time_range],
            "prices": self.prices, "whole_prices": self.whole_prices,
            "ids": {column: {"values": s.values, **{code: {"rows": m.rows, "distinct": len(m.distinct)}
                                                     for code, m in s.mangled.items()}} for column, s in self.ids.items()},
        }


def _warning(code: str, ids: _Mangled, message: str, what_to_do: str) -> dict[str, object]:
    return {"code": code, "message": message, "count": ids.rows, "distinct": len(ids.distinct),
            "examples": ids.examples, "what_to_do": what_to_do}


def _distinct(ids: _Mangled) -> str:
    return f"{len(ids.distinct):,}" + (" or more" if len(ids.distinct) >= MAX_TRACKED_IDS else "")


def _iso(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").isoformat()


def save(workspace: Path, profile: Profile, warnings: list[dict[str, object]], *, sources: list[str], committed: bool) -> Path:
    """Keep this ingest's profile as the workspace's latest (atomically replaced)."""
    path = Path(workspace) / "store" / PROFILE_FILE
    document = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sources": sources,
                "committed": committed, "warnings": warnings, "stats": profile.stats()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False, default=str))
    return path


def latest_profile(workspace: Path) -> dict[str, object] | None:
    """The profile of the workspace's latest ingest, or None before the first one (or if unreadable)."""
    try:
        document = json.loads((Path(workspace) / "store" / PROFILE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None


def latest_warnings(workspace: Path) -> list[dict[str, object]]:
    """The warnings of the workspace's latest ingest (empty before the first one)."""
    document = latest_profile(workspace)
    found = document.get("warnings") if document else None
    return list(found) if isinstance(found, list) else []
