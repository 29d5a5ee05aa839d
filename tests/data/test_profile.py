"""The data profile of an ingest: each kind of messy file raises its warning, with the right numbers;
a clean file raises none (data/profile.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.data import profile as profile_module
from shoprec.data.adapters import adapter_sources
from shoprec.data.ingest import IngestSummary, Source, ingest
from shoprec.data.profile import Profile, latest_profile, latest_warnings
from shoprec.data.readers import ReadOptions, read_records
from shoprec.data.store import Store
from tests.conftest import shared_dataset

ITEMS = 20


def _items_csv(path: Path, *, titles: bool = True, prices: list[str] | None = None) -> Path:
    lines = ["item_id,title,price"]
    for i in range(ITEMS):
        title = f"Item number {i}" if titles or i % 2 else ""
        lines.append(f"i{i},{title},{prices[i] if prices else f'{4.99 + i:.2f}'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _events(n: int = 400, *, user=lambda i: f"u{i % 97}", item=lambda i: f"i{i % ITEMS}",
            time=lambda i: f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z") -> str:
    rows = ["user_id,item_id,event_type,timestamp"]
    rows += [f"{user(i)},{item(i)},view,{time(i)}" for i in range(n)]
    return "\n".join(rows) + "\n"


def _source(kind: str, path: Path) -> Source:
    return Source(kind, str(path), lambda: read_records(path, ReadOptions()))


def _ingest(tmp_path: Path, events: str | None, *, catalogue: bool = True, workspace: Path | None = None,
            **items) -> IngestSummary:
    sources = [_source("items", _items_csv(tmp_path / "items.csv", **items))] if catalogue else []
    if events is not None:
        (tmp_path / "events.csv").write_text(events)
        sources.append(_source("events", tmp_path / "events.csv"))
    return ingest(Store(workspace or tmp_path / "ws"), sources)


def _codes(summary: IngestSummary) -> dict[str, dict[str, object]]:
    codes = {str(w["code"]): w for w in summary.warnings}
    assert len(codes) == len(summary.warnings) or set(codes) == {"placeholder_id"}
    for warning in summary.warnings:
        assert warning["message"] and warning["what_to_do"]
    return codes


def test_a_clean_shop_raises_no_warning(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, _events())
    assert summary.accepted == ITEMS + 400
    assert summary.warnings == [] and summary.to_json()["warnings"] == []
    assert latest_warnings(tmp_path / "ws") == []
    # re-ingesting the same events repeats stored events: expected, not a duplicate-heavy file
    again = _ingest(tmp_path, _events())
    assert again.duplicates == 400 and again.warnings == []


def test_scientific_notation_ids_say_how_many_collapsed(tmp_path: Path) -> None:
    spreadsheet = ["2.82E+18", "2.83E+18", "1.17e+18"]
    summary = _ingest(tmp_path, _events(300, user=lambda i: spreadsheet[i % 3]))
    codes = _codes(summary)
    warning = codes["ids_scientific_notation"]
    assert warning["count"] == 300 and warning["distinct"] == 3
    assert warning["examples"][0] in spreadsheet
    assert "user_id: 300 values like" in str(warning["message"]) and "collapsed onto 3 ids" in str(warning["message"])
    assert "as text" in str(warning["what_to_do"])
    assert "placeholder_id" not in codes  # the rounded ids hold many events each, but they have their warning
    assert set(codes) == {"ids_scientific_notation"}


def test_ids_cut_to_fifteen_digits_are_truncated(tmp_path: Path) -> None:
    # 19-digit shopper ids a spreadsheet kept 15 significant digits of: 1000 shoppers onto 40 ids
    summary = _ingest(tmp_path, _events(1000, user=lambda i: f"{282_123_456_789_000 + i % 40}0000"))
    warning = _codes(summary)["ids_truncated"]
    assert warning["count"] == 1000 and warning["distinct"] == 40
    assert "collapsed onto 40 ids" in str(warning["message"])


def test_genuine_long_ids_are_not_truncated(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, _events(1000, user=lambda i: f"{7_123_456_789_012_345_678 + 7919 * (i % 200)}"))
    assert "ids_truncated" not in _codes(summary)


def test_a_float_id_column_past_2_53_has_lost_digits(tmp_path: Path) -> None:
    frame = pd.DataFrame({"user_id": [2.82e18 + 1e6 * (i % 5) for i in range(200)], "item_id": ["i1"] * 200,
                          "event_type": ["view"] * 200, "timestamp": [f"2024-03-01T10:00:{i % 60:02d}Z" for i in range(200)]})
    summary = ingest(Store(tmp_path / "ws"), [Source.from_frames("events", "frame", lambda: [frame])])
    warning = _codes(summary)["ids_truncated"]
    assert warning["count"] == 200 and "2^53" in str(warning["message"])


def test_ids_written_as_decimals(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, _events(item=lambda i: f"{i % ITEMS}.0"))
    codes = _codes(summary)
    assert codes["ids_float_suffix"]["count"] == 400
    assert "'12.0' and '12'" in str(codes["ids_float_suffix"]["message"])
    assert codes["unknown_items"]["count"] == 400  # the catalogue says i0..i19: nothing matches


@pytest.mark.parametrize("placeholder", ["guest", "NA-customer"])
def test_one_id_with_a_quarter_of_the_events_is_a_placeholder(tmp_path: Path, placeholder: str) -> None:
    summary = _ingest(tmp_path, _events(400, user=lambda i: placeholder if i % 4 == 0 else f"u{i}"))
    warning = _codes(summary)["placeholder_id"]
    assert warning["count"] == 100 and warning["examples"] == [placeholder]
    assert f"user_id '{placeholder}' holds 100 of 400 events (25%)" in str(warning["message"])


def test_a_placeholder_name_needs_a_smaller_share(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, _events(1000, user=lambda i: "anonymous" if i % 50 == 0 else f"u{i}"))
    assert _codes(summary)["placeholder_id"]["count"] == 20  # 2%: a name like this is no shopper


def test_a_busy_shopper_is_not_a_placeholder(tmp_path: Path) -> None:
    # the busiest of 610 MovieLens users holds 2.7% of the ratings: 3% here, under the 5% looked for
    summary = _ingest(tmp_path, _events(1000, user=lambda i: "u-busy" if i % 33 == 0 else f"u{i % 500}"))
    assert "placeholder_id" not in _codes(summary)


def test_a_shop_of_few_shoppers_has_busy_ones(tmp_path: Path) -> None:
    # 40 shoppers: the busiest holds 10%, four times the mean; a placeholder is 20 times the mean or more
    summary = _ingest(tmp_path, _events(1000, user=lambda i: "u-top" if i % 10 == 0 else f"u{i % 39}"))
    assert "placeholder_id" not in _codes(summary)


def test_the_share_survives_the_bounded_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module, "HEAVY_HITTER_COUNTERS", 50)
    profile = Profile()
    times = pd.Series(pd.Timestamp("2024-03-01 10:00:01", tz="UTC"), index=range(1000)).dt.as_unit("ms")
    for chunk in range(10):  # 10,000 events, 5,001 shoppers: far more than the 50 counters
        users = ["guest" if i % 10 == 0 else f"u{chunk}-{i}" for i in range(1000)]
        profile.events(pd.DataFrame({"user_id": users, "item_id": "i1", "timestamp": times}), 0)
        assert len(profile.user_counts) <= 50
    warnings = profile.finish(rejected={}, events_accepted=10_000, events_with_unknown_items=0, unknown_items=0, catalogue=None)
    assert [w["code"] for w in warnings] == ["placeholder_id"]
    assert 1000 - profile.user_count_error <= profile.user_counts["guest"] <= 1000


def test_dates_without_times(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, _events(time=lambda i: f"2024-03-{1 + i % 28:02d}"))
    warning = _codes(summary)["day_granularity_timestamps"]
    assert warning["count"] == 400 and "midnight UTC" in str(warning["message"])


def test_future_and_ancient_times(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, _events(time=lambda i: "2999-01-01T00:00:00Z" if i % 10 == 0 else
                                        "1975-01-01T00:00:00Z" if i % 10 == 1 else f"2024-03-01T10:{i % 60:02d}:00Z"))
    warning = _codes(summary)["timestamps_out_of_range"]
    assert warning["count"] == 80 and "(40)" in str(warning["message"])
    assert summary.rejected == {"future_timestamp": 40, "ancient_timestamp": 40}


@pytest.mark.parametrize(("scale", "unit"), [(100, "cents"), (1_000_000, "micros")])
def test_prices_that_look_like_cents_or_micros(tmp_path: Path, scale: int, unit: str) -> None:
    prices = [str(round((19.99 + 10 * i) * scale)) for i in range(ITEMS)]
    warning = _codes(_ingest(tmp_path, _events(), prices=prices))["price_scale"]
    assert warning["count"] == ITEMS and unit in str(warning["message"])


def test_whole_prices_below_the_scale_are_fine(tmp_path: Path) -> None:
    assert _ingest(tmp_path, _events(), prices=[str(5 + 50 * i) for i in range(ITEMS)]).warnings == []


def test_a_duplicate_heavy_file(tmp_path: Path) -> None:
    once = _events(300).splitlines()
    summary = _ingest(tmp_path, "\n".join(once + once[1:151]) + "\n")  # half of the rows given twice
    warning = _codes(summary)["high_duplicate_rate"]
    assert warning["count"] == summary.duplicates == 150
    assert "150 of 450 events (33%)" in str(warning["message"])


def test_items_without_titles(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, None, titles=False)
    warning = _codes(summary)["items_without_titles"]
    assert warning["count"] == ITEMS // 2 and "10 of 20 items (50%)" in str(warning["message"])
    # a later events-only ingest does not repeat the catalogue's warning
    assert _ingest(tmp_path, _events(), catalogue=False).warnings == []


def test_events_on_unknown_items(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, _events(item=lambda i: f"i{i % ITEMS}" if i % 2 else f"sku-{i % 7}"))
    warning = _codes(summary)["unknown_items"]
    assert warning["count"] == 200 and "7 items are not in the catalogue" in str(warning["message"])
    empty = _ingest(tmp_path, _events(), catalogue=False, workspace=tmp_path / "ws2")
    assert "the catalogue is empty" in str(_codes(empty)["unknown_items"]["message"])


def test_the_workspace_keeps_the_latest_profile(tmp_path: Path) -> None:
    _ingest(tmp_path, _events(time=lambda i: f"2024-03-{1 + i % 28:02d}"))
    assert [w["code"] for w in latest_warnings(tmp_path / "ws")] == ["day_granularity_timestamps"]
    document = latest_profile(tmp_path / "ws")
    assert document is not None and document["committed"] is True
    assert document["stats"]["events_valid"] == 400  # type: ignore[index]
    _ingest(tmp_path, _events())
    assert latest_warnings(tmp_path / "ws") == []
    assert latest_warnings(tmp_path / "nothing-here") == []


def test_the_cli_prints_warnings_and_puts_them_in_the_json(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(_events(300, user=lambda i: ["2.82E+18", "2.83E+18"][i % 2]))
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(events), "--workspace", str(tmp_path / "ws"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {w["code"] for w in summary["warnings"]} == {"ids_scientific_notation", "unknown_items"}
    assert "warning: user_id: 300 values like '2.82E+18'" in result.stderr
    assert "what to do: Export the column as text" in result.stderr
    plain = runner.invoke(cli, ["ingest", str(events), "--workspace", str(tmp_path / "ws2")])
    assert plain.exit_code == 0 and "warning: user_id: 300 values" in plain.stderr


def test_real_datasets_raise_only_true_warnings(tmp_path: Path) -> None:
    rees46 = ingest(Store(tmp_path / "rees46"), adapter_sources("rees46", shared_dataset("rees46"), ReadOptions()))
    assert [w["code"] for w in rees46.warnings] == ["items_without_titles"]  # REES46 has no product titles
    movielens = ingest(Store(tmp_path / "ml"), adapter_sources("movielens", shared_dataset("movielens-latest-small"), ReadOptions()))
    assert movielens.warnings == []  # ratings at real seconds, the busiest user holds 2.7%
