"""A database as a source (`shoprec ingest --from URL --query SQL`): SQLite, and a real PostgreSQL
server this module starts itself from Debian's binaries (skipped, saying why, only where it cannot)."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.data.quarantine import read_quarantine
from shoprec.data.store import Store

pytest.importorskip("sqlalchemy", reason="the sql extra (SQLAlchemy) is not installed: pip install -e '.[dev]'")

from shoprec.data.sql_source import read_query, redact, rows_frame, sql_source  # noqa: E402 - after the skip

PASSWORD = "s3cret-Pw"
# (user_id, item_id, event_type, timestamp, price): row 3 is spoiled (an unknown event type)
ROWS = [
    (1, "i1", "view", "2024-01-01 10:00:00", 3.5),
    (2, "i2", "purchase", "2024-01-02T11:00:00Z", 10),
    (3, "i3", "teleport", "2024-01-03", 1),
    (9007199254740993, "i4", "add_to_cart", "2024-01-04", None),  # 2**53 + 1: wrong as a float
    (5, "i5", "view", "2024-01-05", 2.25),
]
QUERY = "SELECT uid AS user_id, item AS item_id, kind AS event_type, at AS timestamp, price FROM ev ORDER BY n"


def _shoprec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from shoprec.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE ev (n INTEGER, uid INTEGER, item TEXT, kind TEXT, at TEXT, price NUMERIC)")
        db.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?)", [(n, *row) for n, row in enumerate(ROWS)])
    return path


def test_a_sqlite_query_is_streamed_in_chunks_with_row_numbers(shop_db: Path) -> None:
    source = sql_source(f"sqlite:///{shop_db}", QUERY, chunk_rows=2)
    chunks = list(source.chunks())
    assert [c.lines.tolist() for c in chunks] == [[1, 2], [3, 4], [5]]
    assert source.label == chunks[0].file == f"sqlite:///{shop_db} query"
    assert chunks[1].frame["user_id"].tolist() == [3, 9007199254740993]


def test_ingest_from_sqlite_through_the_cli(shop_db: Path, workspace: Path) -> None:
    result = CliRunner().invoke(cli, ["ingest", "--from", f"sqlite:///{shop_db}", "--query", QUERY,
                                      "--chunk-rows", "2", "--workspace", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 4 and summary["rejected"] == {"unknown_event_type": 1}
    (reject,) = read_quarantine(Path(summary["quarantine"]))
    assert reject["file"] == f"sqlite:///{shop_db} query" and reject["line"] == "3"  # the row number in the result

    events = Store(workspace).read_events().set_index("item_id")
    assert events["user_id"].to_dict() == {"i1": "1", "i2": "2", "i4": "9007199254740993", "i5": "5"}  # ids as strings, exact
    assert events.loc["i2", "timestamp"] == pd.Timestamp("2024-01-02T11:00:00Z")
    prices = Store(workspace).items().set_index("item_id")["price"]
    assert prices["i1"] == 3.5 and prices["i5"] == 2.25


def test_a_catalogue_from_sqlite(tmp_path: Path, workspace: Path) -> None:
    path = tmp_path / "catalogue.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE products (sku INTEGER, name TEXT, price NUMERIC, stock INTEGER, colour TEXT)")
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", [(10, "Mug", 4.5, 3, "red"), (11, "Cup", 2, 0, None)])
    result = CliRunner().invoke(cli, ["ingest", "--kind", "items", "--from", f"sqlite:///{path}", "--query",
                                      "SELECT sku, name AS title, price, stock, colour FROM products", "--map", "item_id=sku",
                                      "--workspace", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    items = Store(workspace).items().set_index("item_id")
    assert items.loc["10", "title"] == "Mug" and items.loc["11", "price"] == 2.0
    assert json.loads(items.loc["10", "attributes"]) == {"stock": 3, "colour": "red"}


def test_typed_values_are_handed_on_exactly() -> None:
    frame = rows_frame(["id", "amount", "n"], [(Decimal("123"), Decimal("3.50"), None), (Decimal("9007199254740993"), Decimal("2"), 7)])
    assert frame["id"].tolist() == [123, 9007199254740993] and frame["amount"].tolist() == [3.5, 2]
    assert frame["n"].tolist() == [None, 7]  # an integer column with NULLs stays integers, never 7.0


@pytest.mark.parametrize(("url", "query", "expected"), [
    ("not a url", "SELECT 1", "cannot read 'not a url' as a database URL"),
    ("sqlite:///{tmp}/missing.db", "SELECT 1", "no such SQLite database file"),
    ("sqlite:///{db}", "SELECT * FROM nowhere", "the query failed: no such table: nowhere"),
    ("postgresql://shop:" + PASSWORD + "@127.0.0.1:1/shop", "SELECT 1", "postgresql://shop@127.0.0.1:1/shop query: cannot connect"),
    ("nosuchdb://shop:" + PASSWORD + "@host/shop", "SELECT 1", "knows no database 'nosuchdb'"),
])
def test_a_bad_url_server_or_query_is_one_line_without_the_password(url: str, query: str, expected: str,
                                                                     shop_db: Path, tmp_path: Path) -> None:
    url = url.format(tmp=tmp_path, db=shop_db)
    run = _shoprec("ingest", "--from", url, "--query", query, "--workspace", str(tmp_path / "ws"))
    assert run.returncode == 2, run.stderr
    assert expected in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0
    assert PASSWORD not in run.stderr + run.stdout


def test_options_that_do_not_go_together_are_usage_errors(shop_db: Path, workspace: Path) -> None:
    runner = CliRunner()
    for args, message in ([[], "nothing to ingest"], [["--from", f"sqlite:///{shop_db}"], "go together"],
                          [["--query", "SELECT 1"], "go together"],
                          [["--from", f"sqlite:///{shop_db}", "--query", QUERY, "--format", "rees46"], "--format"]):
        result = runner.invoke(cli, ["ingest", *args, "--workspace", str(workspace)])
        assert result.exit_code == 2 and message in result.output, (args, result.output)


def test_the_password_is_never_in_a_label() -> None:
    assert redact(f"postgresql://shop:{PASSWORD}@db.example:5432/shop") == "postgresql://shop@db.example:5432/shop"
    assert PASSWORD not in redact(f"postgresql://shop@db/shop?password={PASSWORD}")
    assert PASSWORD not in redact(f"garbage://shop:{PASSWORD}@[bad")


# ---- PostgreSQL -----------------------------------------------------------------------------------

def _postgres_bin() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda p: int(re.findall(r"/postgresql/(\d+)/", p)[0]) if re.findall(r"/postgresql/(\d+)/", p) else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own in a temporary folder, on a free loopback port, with a password.

    initdb refuses to run as root: as root, the server runs as `nobody` (through runuser)."""
    pytest.importorskip("psycopg", reason="psycopg (the sql extra's PostgreSQL driver) is not installed")
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
                    "install Debian's postgresql package (.ci/run does)")
    base = Path(tempfile.mkdtemp(prefix="shoprec-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root, and initdb refuses root: runuser (to run it as nobody) not found")
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(base, nobody.pw_uid, nobody.pw_gid)
        prefix = [runuser, "-u", "nobody", "--"]
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if prefix:
        os.chown(pwfile, os.stat(base).st_uid, os.stat(base).st_gid)
    data, port = base / "data", _free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, cwd=base)

    init = run(str(bindir / "initdb"), "-D", str(data), "-U", "shop", f"--pwfile={pwfile}", "--auth-local=trust",
               "--auth-host=scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not be set up (initdb): {(init.stderr or init.stdout).strip()[-400:]}")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60", "-o", options, "start")
    if start.returncode != 0:
        log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start: {(start.stderr + log).strip()[-400:]}")
    try:
        yield f"postgresql://shop:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_events(postgres_url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(postgresql_psycopg(postgres_url))
    with engine.begin() as db:
        db.execute(sa.text("DROP TABLE IF EXISTS ev"))
        db.execute(sa.text("CREATE TABLE ev (n serial, shopper bigint, item numeric(20, 0), kind text, "
                           "at timestamptz, local_at timestamp, price numeric(10, 2), session uuid)"))
        db.execute(sa.text(
            "INSERT INTO ev (shopper, item, kind, at, local_at, price, session) VALUES "
            "(1, 101, 'view', '2024-01-01 12:00+02', '2024-01-01 10:00', 3.50, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), "
            "(9007199254740993, 102, 'purchase', '2024-01-02 11:00Z', '2024-01-02 11:00', 10.00, NULL), "
            "(NULL, 103, 'view', '2024-01-03 00:00Z', '2024-01-03 00:00', 1.00, NULL), "
            "(4, 104, 'add_to_cart', '2024-01-04 00:00Z', '2024-01-04 00:00', NULL, NULL), "
            "(5, 105, 'view', '2024-01-05 00:00Z', '2024-01-05 00:00', 99999999.99, NULL)"))
    engine.dispose()
    return postgres_url


def postgresql_psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.mark.xdist_group("postgres")  # one server per run, not one per worker
def test_a_postgresql_query_is_streamed_from_a_server_side_cursor(pg_events: str) -> None:
    from sqlalchemy.engine import make_url

    label = redact(pg_events) + " query"
    chunks = list(read_query(make_url(pg_events), "SELECT shopper, item, at, local_at, price FROM ev ORDER BY n", label, chunk_rows=2))
    assert [c.lines.tolist() for c in chunks] == [[1, 2], [3, 4], [5]]
    first = chunks[0].frame
    assert first["shopper"].tolist() == [1, 9007199254740993] and first["item"].tolist() == [101, 102]
    assert first["at"].tolist() == [pd.Timestamp("2024-01-01T10:00Z"), pd.Timestamp("2024-01-02T11:00Z")]
    assert first["local_at"].tolist() == first["at"].tolist()  # a time without a zone is UTC
    assert first["price"].tolist() == [3.5, 10]


@pytest.mark.xdist_group("postgres")  # one server per run, not one per worker
def test_ingest_from_postgresql_through_the_cli(pg_events: str, workspace: Path) -> None:
    query = ("SELECT shopper AS user_id, item AS item_id, kind AS event_type, at AS timestamp, price, "
             "session AS session_id FROM ev ORDER BY n")
    result = CliRunner().invoke(cli, ["ingest", "--from", pg_events, "--query", query, "--chunk-rows", "2",
                                      "--workspace", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    summary = json.loads(result.stdout)
    assert summary["accepted"] == 4 and summary["rejected"] == {"missing_user_id": 1}
    (reject,) = read_quarantine(Path(summary["quarantine"]))
    assert reject["line"] == "3" and reject["file"] == redact(pg_events) + " query"
    assert PASSWORD not in Path(summary["quarantine"]).read_text()

    store = Store(workspace)
    events = store.read_events().set_index("item_id")
    assert events["user_id"].to_dict() == {"101": "1", "102": "9007199254740993", "104": "4", "105": "5"}
    assert events.loc["101", "timestamp"] == pd.Timestamp("2024-01-01T10:00:00Z")
    assert events.loc["101", "session_id"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    prices = store.items().set_index("item_id")["price"]
    assert (prices["101"], prices["102"], prices["105"]) == (3.5, 10.0, 99999999.99)

    again = CliRunner().invoke(cli, ["ingest", "--from", pg_events, "--query", query, "--workspace", str(workspace), "--json"])
    assert json.loads(again.stdout)["duplicates"] == 4  # the same rows again are merged


@pytest.mark.xdist_group("postgres")  # one server per run, not one per worker
def test_a_bad_postgresql_query_or_password_is_one_line(pg_events: str, tmp_path: Path) -> None:
    bad_sql = _shoprec("ingest", "--from", pg_events, "--query", "SELECT * FROM no_such_table", "--workspace", str(tmp_path / "ws"))
    assert bad_sql.returncode == 2 and "the query failed" in bad_sql.stderr and "no_such_table" in bad_sql.stderr
    assert "Traceback" not in bad_sql.stderr and PASSWORD not in bad_sql.stderr

    wrong = pg_events.replace(PASSWORD, "wrong-password")
    denied = _shoprec("ingest", "--from", wrong, "--query", "SELECT 1", "--workspace", str(tmp_path / "ws"))
    assert denied.returncode == 2 and "cannot connect" in denied.stderr and "password" in denied.stderr
    assert "wrong-password" not in denied.stderr and "Traceback" not in denied.stderr
