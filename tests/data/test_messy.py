"""Real exports, read as their authors meant (issue 15): missing-value markers, returns and
cancellations, strict --map, category separators, decimal commas, the quarantine's raw lines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.config import WeightConfig
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.ingest import IngestSummary, Source, ingest
from shoprec.data.mapping import ColumnMapping
from shoprec.data.quarantine import read_quarantine
from shoprec.data.readers import ReadOptions, read_records
from shoprec.data.store import Store
from shoprec.errors import DataError


def _ingest(tmp_path: Path, text: str, kind: str = "events", name: str = "data.csv", **mapping: object) -> tuple[Store, IngestSummary]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    store = Store(tmp_path / "ws")
    source = Source(kind, str(path), lambda: read_records(path, ReadOptions()), ColumnMapping(**mapping))  # type: ignore[arg-type]
    return store, ingest(store, [source])


R_EXPORT = """customer,item_id,event_type,timestamp,price
c1,i1,view,2024-01-01 10:00:00,NA
NA,i2,view,2024-01-01 10:01:00,3.5
null,i3,view,2024-01-01 10:02:00,
None,i1,view,2024-01-01 10:03:00,1
N/A,i2,view,2024-01-01 10:04:00,1
-,i3,view,2024-01-01 10:05:00,-
c2,i3,purchase,2024-01-01 10:06:00,2
"""


def test_missing_markers_are_missing_not_a_shopper(tmp_path: Path) -> None:
    store, summary = _ingest(tmp_path, R_EXPORT, columns={"user_id": "customer"})
    assert summary.rejected == {"missing_user_id": 5}  # not one shopper "NA" holding most events
    events = store.read_events()
    assert sorted(events[S.USER_ID]) == ["c1", "c2"]
    rows = read_quarantine(Path(summary.quarantine))
    assert [r["raw"].split(",")[0] for r in rows] == ["NA", "null", "None", "N/A", "-"]


def test_the_markers_can_be_changed(tmp_path: Path) -> None:
    store, summary = _ingest(tmp_path, R_EXPORT, columns={"user_id": "customer"}, na_values=frozenset({"", "-"}))
    # Only "-" is missing now; "N/A" is then an id with '/', and "NA" is no price.
    assert summary.rejected == {"missing_user_id": 1, "invalid_id": 1, "invalid_price": 1}
    assert {"NA", "null", "None"} <= set(store.read_events()[S.USER_ID])


def test_events_without_a_user_can_be_kept_as_anonymous_shoppers(tmp_path: Path) -> None:
    text = "user_id,session_id,item_id,event_type,timestamp\n,s1,i1,view,2024-01-01\nNA,s1,i2,view,2024-01-02\n,,i3,view,2024-01-03\nu1,s2,i1,view,2024-01-04\n"
    store, summary = _ingest(tmp_path, text, anonymous_user="session")
    assert summary.rejected == {"missing_user_id": 1}  # no user and no session: nothing to keep it by
    assert sorted(store.read_events()[S.USER_ID]) == ["anon-session-s1", "anon-session-s1", "u1"]
    store, summary = _ingest(tmp_path / "per-event", text, anonymous_user="event")
    users = sorted(store.read_events()[S.USER_ID])
    assert summary.rejected == {} and len(users) == 4 and len(set(users)) == 4 and "u1" in users


RETAIL = """InvoiceNo,StockCode,Quantity,InvoiceDate,CustomerID
536365,85123A,6,2010-12-01 08:26:00,17850
C536379,85123A,-1,2010-12-01 09:41:00,17850
536380,22086,2,2010-12-01 09:45:00,17850
C536381,22086,1,2010-12-01 09:50:00,13047
"""


def _retail(**options: object) -> dict[str, object]:
    return {"columns": {"user_id": "CustomerID", "item_id": "StockCode", "value": "Quantity", "timestamp": "InvoiceDate",
                        "cancelled": "InvoiceNo"}, "event_type": "purchase", "cancelled_prefix": "C", **options}


def test_returns_and_cancellations_become_return_events(tmp_path: Path) -> None:
    store, summary = _ingest(tmp_path, RETAIL, **_retail())
    events = store.read_events().sort_values(S.TIMESTAMP)
    assert list(events[S.EVENT_TYPE]) == ["purchase", "return", "purchase", "return"]
    assert list(events[S.VALUE]) == [6, 1, 2, 1]  # the quantity returned, positive
    assert summary.rejected == {}


def test_returns_can_be_quarantined_instead(tmp_path: Path) -> None:
    store, summary = _ingest(tmp_path, RETAIL, **_retail(returns="quarantine"))
    assert summary.rejected == {"returned_purchase": 2}
    assert set(store.read_events()[S.EVENT_TYPE]) == {"purchase"}


def test_a_negative_quantity_without_a_cancelled_column_is_a_return(tmp_path: Path) -> None:
    text = "user_id,item_id,event_type,timestamp,value\nu1,i1,purchase,2024-01-01,2\nu1,i1,purchase,2024-01-02,-2\nu1,i2,rating,2024-01-02,-1\n"
    store, _ = _ingest(tmp_path, text)
    assert sorted(store.read_events()[S.EVENT_TYPE]) == ["purchase", "rating", "return"]  # only purchases return


def test_a_returned_purchase_is_no_signal_but_other_signals_stay() -> None:
    purchase, ret, view = (S.EVENT_TYPE_CODE[t] for t in ("purchase", "return", "view"))
    histories = Histories.from_lists([[(0, purchase, 1), (0, ret, 2), (1, purchase, 3), (1, ret, 4), (1, view, 5)]])
    matrix = histories.to_matrix(3, WeightConfig()).toarray()
    assert matrix[0, 0] == 0 and matrix[0, 1] == 1.0  # item 0 fully returned; item 1 keeps its view
    assert histories.to_matrix(3, WeightConfig()).nnz == 1


def test_an_unknown_map_field_is_an_error_listing_the_fields(tmp_path: Path) -> None:
    text = "CustomerID,item_id,event_type,timestamp,Qty\nc1,i1,view,2024-01-01,1\n"
    with pytest.raises(DataError, match=r"did you mean --map value=Qty.*the fields are user_id, item_id"):
        _ingest(tmp_path, text, columns={"user_id": "CustomerID", "quantity": "Qty"})
    with pytest.raises(DataError, match=r"did you mean --map user_id=CustomerID"):
        _ingest(tmp_path, text, columns={"customer": "CustomerID"})


@pytest.mark.parametrize(("categories", "separator", "expected"), [
    (["Kitchen/Pans", "Home/Drinkware/", "Garden"], "'/'", ["Kitchen > Pans", "Home > Drinkware", "Garden"]),
    (["Kitchen|Pans", "Home|Drinkware"], "'|'", ["Kitchen > Pans", "Home > Drinkware"]),
    (["Kitchen > Pans", "AC/DC > Records"], "ambiguous", ["Kitchen > Pans", "AC/DC > Records"]),
])
def test_category_separators_are_detected_and_reported(tmp_path: Path, categories: list[str], separator: str,
                                                       expected: list[str]) -> None:
    text = "item_id,title,category\n" + "".join(f"i{i},Thing {i},{c}\n" for i, c in enumerate(categories))
    store, summary = _ingest(tmp_path, text, kind="items")
    assert store.items().sort_values(S.ITEM_ID)[S.CATEGORY].tolist() == expected
    (why,) = summary.category_separators.values()
    assert separator in why


def test_a_given_category_separator_is_used_as_given(tmp_path: Path) -> None:
    store, summary = _ingest(tmp_path, "item_id,category\ni1,Kitchen/Pans|Lids\n", kind="items", category_sep="|")
    assert store.items()[S.CATEGORY].tolist() == ["Kitchen/Pans > Lids"] and summary.category_separators == {}


def test_decimal_commas_and_the_quarantine_keeps_the_line_as_written(tmp_path: Path) -> None:
    text = "item_id;title;price\ni1;Pan;12,50\ni2;Big pan;1.234,50\ni3;Lid;cheap\n"
    store, summary = _ingest(tmp_path, text, kind="items", decimal=",")
    prices = store.items().set_index(S.ITEM_ID)[S.PRICE]
    assert prices["i1"] == 12.5 and prices["i2"] == 1234.5
    (row,) = read_quarantine(Path(summary.quarantine))
    assert row["raw"] == "i3;Lid;cheap"  # the file's own delimiter, not re-joined with commas
    _, plain = _ingest(tmp_path / "plain", text, kind="items")
    assert plain.rejected == {"invalid_price": 3}  # without --decimal ',' the comma is not guessed


def test_files_written_by_generate_point_at_their_kind(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "shop"
    generated = runner.invoke(cli, ["generate", "--out", str(out), "--users", "20", "--items", "10", "--events", "200"])
    assert generated.exit_code == 0, generated.output
    for kind in ("items", "users"):
        path = next(out.glob(f"{kind}*"))
        result = runner.invoke(cli, ["ingest", str(path), "--workspace", str(tmp_path / "ws")])
        assert result.exit_code != 0 and f"--kind {kind}" in str(result.exception)


def test_the_cli_takes_every_messy_data_option(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Invoice;Product;Qty;When;Customer;Price\n1;p1;2;2024-01-01;c1;3,50\nC2;p1;-2;2024-01-02;c1;3,50\n"
                    "3;p2;1;2024-01-03;NULL;1,00\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "ingest", str(path), "--workspace", str(tmp_path / "ws"), "--event-type", "purchase", "--json",
        "--map", "user_id=Customer", "--map", "item_id=Product", "--map", "value=Qty", "--map", "timestamp=When",
        "--map", "cancelled=Invoice", "--cancelled-prefix", "C", "--decimal", ",", "--map", "price=Price"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 2 and summary["rejected"] == {"missing_user_id": 1}
    events = Store(tmp_path / "ws").read_events().sort_values(S.TIMESTAMP)
    assert list(events[S.EVENT_TYPE]) == ["purchase", "return"]
    assert np.isclose(Store(tmp_path / "ws").items().set_index(S.ITEM_ID).loc["p1", S.PRICE], 3.5)
    assert pd.notna(events[S.VALUE]).all()
