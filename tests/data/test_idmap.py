"""IdMap: ids to indices and back, one id or many, unknown ids answered without raising."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data.idmap import IdMap


def test_one_id_and_many_ids_map_to_the_same_indices() -> None:
    ids = IdMap.from_values(["i3", "i1", "i2", "i1"])
    assert ids.to_list() == ["i1", "i2", "i3"]
    assert [ids.index(i) for i in ("i1", "i2", "i3")] == [0, 1, 2] == ids.index_of(["i1", "i2", "i3"]).tolist()
    assert ids.id_of([2, 0]).tolist() == ["i3", "i1"]


@pytest.mark.parametrize("unknown", ["i9", "", 1, None, np.nan, ("i1",)])
def test_an_unknown_id_is_none_not_an_error(unknown: object) -> None:
    ids = IdMap(["i1", "i2"])
    assert ids.index(unknown) is None  # type: ignore[arg-type]
    assert "i1" in ids and "i9" not in ids
