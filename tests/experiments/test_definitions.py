"""Experiment definitions: checks, one running experiment per surface, the file the service follows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shoprec.errors import ConfigError
from shoprec.experiments import definitions
from shoprec.experiments.definitions import ExperimentFile, new_experiment, parse_variant


def test_definitions_are_checked() -> None:
    assert parse_variant("B=fusion:rrf") == ("B", "fusion:rrf")
    for bad in ("B", "=x", "B="):
        with pytest.raises(ConfigError):
            parse_variant(bad)
    variants = [("A", "itemknn"), ("B", "ease")]
    assert new_experiment("e", variants, traffic=[90, 10]).traffic == (0.9, 0.1)
    for kwargs in ({"traffic": [50]}, {"traffic": [50, 0]}, {"surface": "home"}, {"design": "bandit"},
                   {"design": "interleaving", "traffic": [70, 30]}, {"window_hours": 0}):
        with pytest.raises(ConfigError):
            new_experiment("e", variants, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        new_experiment("bad name", variants)
    with pytest.raises(ConfigError):
        new_experiment("e", [("A", "x")])
    with pytest.raises(ConfigError):
        new_experiment("e", [("A", "x"), ("A", "y")])


def test_start_stop_and_the_service_side_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(definitions, "CHECK_EVERY_S", 0.0)
    cli, service = ExperimentFile(tmp_path), ExperimentFile(tmp_path)
    assert service.running("recommendations") is None
    cli.start(new_experiment("one", [("A", "x"), ("B", "y")]))
    assert service.running("recommendations").name == "one"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="running"):
        cli.start(new_experiment("two", [("A", "x"), ("B", "y")]))
    cli.start(new_experiment("two", [("A", "lexical"), ("B", "hybrid")], surface="search"))
    time.sleep(0.01)
    cli.stop("one")
    assert service.running("recommendations") is None and service.running("search").name == "two"  # type: ignore[union-attr]
    assert service.get("one").stopped_ms is not None
    with pytest.raises(ConfigError, match="exists"):
        cli.start(new_experiment("one", [("A", "x"), ("B", "y")]))
    with pytest.raises(ConfigError, match="no experiment"):
        cli.stop("three")
