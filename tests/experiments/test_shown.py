"""The log of lists shown and their outcomes: retries stored once, retention, erasure."""

from __future__ import annotations

import time
from pathlib import Path

from shoprec.experiments.shown import Outcome, Served, ShownLog, erase_user, path_in

DAY = 86_400_000


def test_retries_are_stored_once_and_old_rows_are_pruned(tmp_path: Path) -> None:
    log = ShownLog(tmp_path / "shown.sqlite")
    now = int(time.time() * 1000)
    log.record_served(Served("old", now - 100 * DAY, "u1", "search", None, None, ["i1"]))
    assert log.served("old") is None  # the first write of a process prunes (then at most hourly)
    log.record_served(Served("old", now - 100 * DAY, "u1", "search", None, None, ["i1"]))
    log.record_served(Served("new", now, "u1", "search", None, None, ["i1", "i2"]))
    click = Outcome(now, "u1", "i2", "click", request_id="new", position=2, key="h:new:2")
    assert log.record_outcomes([click, click]) == 1
    assert log.record_outcomes([Outcome(now - 100 * DAY, "u1", "i1", "purchase", 3.0, key="h2")]) == 1
    assert log.prune(now) == 2  # the list and the purchase older than 90 days
    assert log.served("old") is None and log.served("new") is not None
    assert [o.request_id for o in log.outcomes_of(["u1"], 0)] == ["new"]
    log.close()


def test_erasure_deletes_the_shoppers_rows_only(tmp_path: Path) -> None:
    assert erase_user(tmp_path, "u1") == 0  # no log yet: nothing to do, nothing created
    assert not path_in(tmp_path).exists()
    log = ShownLog(path_in(tmp_path))
    now = int(time.time() * 1000)
    for user in ("u1", "u2"):
        log.record_served(Served(f"r-{user}", now, user, "recommendations", "e", "A", ["i1"]))
        log.record_outcomes([Outcome(now, user, "i1", "click", request_id=f"r-{user}", position=1)])
    log.flush()  # committed, as the service's writer does within FLUSH_EVERY_S
    assert erase_user(tmp_path, "u1") == 2
    assert log.served("r-u1") is None and log.served("r-u2") is not None
    assert not log.outcomes_of(["u1"], 0) and log.outcomes_of(["u2"], 0)
    log.close()


def test_lists_are_committed_by_the_writer_and_a_queued_list_of_an_erased_shopper_is_dropped(tmp_path: Path) -> None:
    log = ShownLog(path_in(tmp_path))
    reader = ShownLog(path_in(tmp_path))  # another process's view (the report)
    now = int(time.time() * 1000)
    log.record_served(Served("r-u2", now, "u2", "search", None, None, ["i1"]))
    deadline = time.monotonic() + 10
    while reader.served("r-u2") is None:  # no flush by the writer's own process
        assert time.monotonic() < deadline, "the writer thread did not commit the queued list"
        time.sleep(0.05)
    log.record_served(Served("r-u1", now, "u1", "search", None, None, ["i1"]))
    # another process erases u1 while the list is still queued here; following the erasure drops it
    erase_user(tmp_path, "u1")
    assert log.delete_user("u1") == 1
    assert log.served("r-u1") is None and reader.served("r-u1") is None and log.served("r-u2") is not None
    log.record_served(Served("r-last", now, "u3", "search", None, None, ["i1"]))
    log.close()  # commits what is queued
    assert reader.served("r-last") is not None
    reader.close()
