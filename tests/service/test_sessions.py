"""Signed sessions: a token names one shopper until it expires, and nobody without the secret can make one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shoprec.service.sessions import SECRET_ENV, SECRET_FILE, SessionSigner, new_visitor_id, session_secret


def test_a_token_names_its_shopper_until_it_expires() -> None:
    signer = SessionSigner(b"x" * 32)
    token = signer.sign("u000005", max_age_s=60, now=1_000_000)
    assert signer.user(token, now=1_000_030) == "u000005"
    assert signer.user(token, now=1_000_061) is None


@pytest.mark.parametrize("forge", ["u000005", "", "a.b.c", "not-base64!.sig"])
def test_anything_not_signed_by_the_service_names_nobody(forge: str) -> None:
    assert SessionSigner(b"x" * 32).user(forge) is None


def test_a_tampered_or_foreign_token_names_nobody() -> None:
    signer = SessionSigner(b"x" * 32)
    payload, signature = signer.sign("u000005").split(".")
    other_payload = SessionSigner(b"x" * 32).sign("u000006").split(".")[0]
    assert signer.user(f"{other_payload}.{signature}") is None  # someone else's name with this signature
    assert SessionSigner(b"y" * 32).user(f"{payload}.{signature}") is None  # another secret
    with pytest.raises(ValueError, match="spaces around"):
        signer.sign(" u1")


def test_the_workspace_secret_is_made_once_private_and_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    first = session_secret(tmp_path)
    assert session_secret(tmp_path) == first and len(first) >= 32  # every process of the workspace reads the same
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    token = SessionSigner(first).sign("u1")
    assert SessionSigner(session_secret(tmp_path)).user(token) == "u1"
    monkeypatch.setenv(SECRET_ENV, "z" * 20)
    assert session_secret(tmp_path) == b"z" * 20


def test_visitor_ids_are_unguessable_and_valid_ids() -> None:
    ids = {new_visitor_id() for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("visitor-") and len(i) == len("visitor-") + 16 for i in ids)
