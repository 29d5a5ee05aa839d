"""ServiceSettings: arguments, environment variables and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoprec.errors import ConfigError
from shoprec.service.settings import ServiceSettings


def test_keys_come_from_arguments_and_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOPREC_API_KEYS", " one, two ,,")
    monkeypatch.setenv("SHOPREC_READ_REQUIRES_KEY", "yes")
    monkeypatch.setenv("SHOPREC_STOREFRONT_KEY", "front")
    settings = ServiceSettings.from_env(tmp_path, api_keys=("three",))
    assert settings.api_keys == frozenset({"one", "two", "three"})
    assert settings.read_requires_key is True and settings.storefront_key == "front"
    assert settings.effective_storefront_key() == "front"


def test_demo_makes_up_a_storefront_key_and_only_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHOPREC_STOREFRONT_KEY", raising=False)
    assert ServiceSettings.from_env(tmp_path).effective_storefront_key() is None
    made = ServiceSettings.from_env(tmp_path, demo=True).effective_storefront_key()
    assert made is not None and len(made) >= 20


def test_bad_values_are_config_errors_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_batch_events"):
        ServiceSettings.from_env(tmp_path, max_batch_events=0)
    with pytest.raises(ConfigError, match="blank"):
        ServiceSettings.from_env(tmp_path, api_keys=("  ",))
    with pytest.raises(ConfigError, match="api_keys"):
        ServiceSettings.from_env(tmp_path, api_keys="a-single-string")
    with pytest.raises(ConfigError, match="unknown_setting"):
        ServiceSettings.from_env(tmp_path, unknown_setting=1)
