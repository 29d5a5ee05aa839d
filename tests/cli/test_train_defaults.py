"""`shoprec train` without --models fits the measured default set, not everything."""

from __future__ import annotations

from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.models.registry import DEFAULT_MODELS, MODELS
from shoprec.training.settings import model_settings


def test_the_default_set_is_registered_models_without_the_deep_ones() -> None:
    assert set(DEFAULT_MODELS) <= set(MODELS)
    assert not {"sasrec", "two_tower", "random"} & set(DEFAULT_MODELS)
    assert list(model_settings("default", ())) == list(DEFAULT_MODELS)
    assert set(model_settings("all", ())) == set(MODELS)


def test_train_help_names_the_default_set() -> None:
    shown = CliRunner().invoke(cli, ["train", "--help"], terminal_width=200)
    assert shown.exit_code == 0
    assert "[default: default]" in shown.stdout and ",".join(DEFAULT_MODELS) in " ".join(shown.stdout.split())
