"""The interaction table on Spark: the same ids, event weights, decay and merged repeats as the local engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ShoprecError
from tests.spark.conftest import SKIP_REASON

pytest.importorskip("pyspark", reason=SKIP_REASON)

from shoprec.spark.prepare import ITEM, USER, WEIGHT, SparkSnapshot, index_ids, interactions, read_store  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def matrix(snapshot: SparkSnapshot) -> sp.csr_matrix:
    """The Spark interaction table gathered into a users x items matrix."""
    table = interactions(snapshot).toPandas()
    return sp.csr_matrix((table[WEIGHT].to_numpy(), (table[USER].to_numpy(), table[ITEM].to_numpy())),
                         shape=(snapshot.n_users, snapshot.n_items))


def test_weights_decay_and_merged_repeats_worked_by_hand(spark, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,event_type,timestamp\n"
                      "u1,i1,view,2024-01-10\n"
                      "u1,i1,purchase,2024-01-09\n"  # one day older: half of 5
                      "u2,i2,search,2024-01-10\n"  # searches weigh 0: no cell
                      "u2,i1,view,2024-01-08\n")  # two days older: a quarter of 1
    assert CliRunner().invoke(cli, ["ingest", str(events), "--workspace", str(workspace)]).exit_code == 0
    (workspace / "shoprec.toml").write_text("half_life_days = 1\n")
    store = Store(workspace)
    try:
        repeat = store.read_events().drop(columns=[S.EVENT_HASH]).iloc[[0]]  # already in a segment
        later = pd.DataFrame({S.USER_ID: ["u3"], S.ITEM_ID: ["i2"], S.EVENT_TYPE: ["add_to_cart"],
                              S.TIMESTAMP: [pd.Timestamp("2024-01-10", tz="UTC")]})
        assert store.append_events(pd.concat([repeat, later], ignore_index=True)) == 2  # both sit in the live log
    finally:
        store.close()

    snapshot, _ = read_store(spark, workspace)

    assert list(snapshot.item_ids.ids) == ["i1", "i2"] and snapshot.n_users == 3
    assert snapshot.summary()["events"] == 5  # four ingested, one new; the repeat merged
    expected = np.array([[1 + 5 * 0.5, 0.0], [0.25, 0.0], [0.0, 3.0]])  # u1, u2, u3 x i1, i2
    np.testing.assert_allclose(matrix(snapshot).toarray(), expected, rtol=1e-12)
    assert matrix(snapshot).nnz == 3


def test_interaction_table_equals_the_local_one(spark, shop_workspace: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(shop_workspace, workspace)
    (workspace / "shoprec.toml").write_text("half_life_days = 20\n[weights]\nview = 0.5\nclick = 2\n")
    store = Store(workspace)
    try:
        stored = store.read_events().drop(columns=[S.EVENT_HASH])
        newcomer = stored.iloc[[0]].assign(**{S.USER_ID: "zz-newcomer"})  # a user only the live log knows
        store.append_events(pd.concat([stored.iloc[[5, 6]], newcomer], ignore_index=True))
        dataset = store.dataset()
    finally:
        store.close()

    snapshot, _ = read_store(spark, workspace)

    assert np.array_equal(snapshot.item_ids.ids, dataset.item_ids.ids)
    assert snapshot.n_users == dataset.n_users
    assert snapshot.summary() == dataset.summary()
    local = dataset.interactions()
    spark_side = matrix(snapshot)
    assert spark_side.nnz == local.nnz
    assert abs(spark_side - local).max() <= 1e-9 * abs(local).max()


def test_ids_are_numbered_in_sorted_order_across_partitions(spark) -> None:
    values = ["b", "a", "10", "9", "é", "Z", "a", "ab", "10"]
    frame = spark.createDataFrame([(v,) for v in values], "id string").repartition(3)

    indexed, n = index_ids(spark, frame, "id", "index")

    expected = {value: i for i, value in enumerate(sorted(set(values)))}  # Python's (and IdMap's) order
    assert n == len(expected) == 7
    assert {row["id"]: row["index"] for row in indexed.collect()} == expected


def test_an_empty_store_is_a_clear_error(spark, tmp_path: Path) -> None:
    with pytest.raises(ShoprecError, match="holds no events"):
        read_store(spark, tmp_path / "empty")
