"""The service's settings: one small, immutable pydantic model, filled from arguments and the environment.

pydantic-settings is not a dependency, so `from_env` reads the few environment variables by hand.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shoprec.errors import ConfigError

API_KEYS_ENV = "SHOPREC_API_KEYS"
STOREFRONT_KEY_ENV = "SHOPREC_STOREFRONT_KEY"
READ_REQUIRES_KEY_ENV = "SHOPREC_READ_REQUIRES_KEY"


class ServiceSettings(BaseModel):
    """How the service runs.

    - `api_keys`: keys for every write, the admin calls and a shopper's personal data (header
      `X-API-Key`). With none set, those calls are refused.
    - `storefront_key`: a key that may only post events and read; it is written into the
      storefront's pages so that their buttons can post events. `demo=True` makes one up when
      none is given. Without it the storefront is read-only.
    - `read_requires_key`: whether the read endpoints (recommendations, search, items) and the
      storefront's pages need a key (any of the above; pages also take a shopper's signed session).
    - `demo`: the storefront shows a switcher between a few real shoppers (a demo's convenience:
      it shows their personal shelves to anyone).
    - `session_secret`: signs shoppers' sessions (sessions.py); default $SHOPREC_SESSION_SECRET,
      else a secret kept in the workspace.
    - `semantic_search`: whether search uses the sentence model beside the lexical index (it
      needs the `deep` extra; without it search answers lexically either way).
    - `max_batch_events`, `max_body_bytes`: the largest batch `POST /v1/events` takes and the
      largest request body any call takes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    workspace: Path
    api_keys: frozenset[str] = frozenset()
    storefront_key: str | None = None
    read_requires_key: bool = False
    storefront: bool = True
    semantic_search: bool = True
    demo: bool = False
    session_secret: str | None = Field(default=None, repr=False, min_length=16)
    max_batch_events: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=2_000_000, ge=1024)

    @field_validator("api_keys")
    @classmethod
    def _keys_not_blank(cls, keys: frozenset[str]) -> frozenset[str]:
        if any(not key.strip() for key in keys):
            raise ValueError("API keys must not be blank")
        return keys

    @classmethod
    def from_env(cls, workspace: Path, **given: object) -> ServiceSettings:
        """Settings from the arguments given, then `SHOPREC_API_KEYS` (comma-separated),
        `SHOPREC_STOREFRONT_KEY` and `SHOPREC_READ_REQUIRES_KEY` (1/true/yes)."""
        values: dict[str, object] = {"workspace": Path(workspace)}
        env_keys = frozenset(k.strip() for k in os.environ.get(API_KEYS_ENV, "").split(",") if k.strip())
        given_keys = given.pop("api_keys", None) or ()
        if isinstance(given_keys, str) or not isinstance(given_keys, (list, tuple, set, frozenset)):
            raise ConfigError(f"api_keys must be a collection of strings, got {type(given_keys).__name__}")
        values["api_keys"] = frozenset(str(k) for k in given_keys) | env_keys
        if os.environ.get(STOREFRONT_KEY_ENV):
            values["storefront_key"] = os.environ[STOREFRONT_KEY_ENV]
        flag = os.environ.get(READ_REQUIRES_KEY_ENV)
        if flag is not None:
            values["read_requires_key"] = flag.strip().lower() in ("1", "true", "yes", "on")
        values.update({name: value for name, value in given.items() if value is not None})
        try:
            return cls.model_validate(values)
        except ValueError as exc:
            raise ConfigError(f"service settings: {exc}") from exc

    def effective_storefront_key(self) -> str | None:
        """The storefront key to use: the one given, or (demo only) a fresh random one."""
        if self.storefront_key:
            return self.storefront_key
        return secrets.token_urlsafe(18) if self.demo else None
