"""Who is shopping: a signed session, never a user id a visitor can type.

The storefront knows its shopper from a cookie holding a token signed by the service (HMAC-SHA256
over the user id and an expiry). A visitor without one is given a fresh anonymous id
(`visitor-...`); a shop that knows its shopper (logged in) asks `POST /v1/sessions` (admin key) for
a token and sends the shopper to `/session?token=...`, which sets the cookie. Without the secret
nobody can make a token for another shopper, so personal content (history, "because you
viewed", explanations) reaches only the shopper it belongs to.

The secret is `SHOPREC_SESSION_SECRET` when set, otherwise one made once per workspace
(`<workspace>/secrets/session.key`, mode 0600), so that every worker and every restart accepts the
same cookies. Tokens carry no state on the server: they are valid until they expire; changing the
secret ends every session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from shoprec.data.ids import id_problem

COOKIE = "shoprec_session"
MAX_AGE_S = 30 * 24 * 3600  # a session's default life
SECRET_ENV = "SHOPREC_SESSION_SECRET"
SECRET_FILE = Path("secrets") / "session.key"


class SessionSigner:
    """Signs and checks session tokens: `<payload>.<signature>`, both base64url."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a session secret needs at least 16 bytes")
        self._key = hashlib.sha256(b"shoprec session\0" + secret).digest()

    def sign(self, user_id: str, max_age_s: int = MAX_AGE_S, now: float | None = None) -> str:
        """A token naming `user_id`, valid for `max_age_s` seconds."""
        problem = id_problem(user_id)
        if problem is not None:
            raise ValueError(f"user_id {problem}")
        expires = int((time.time() if now is None else now) + max_age_s)
        payload = _b64(json.dumps({"u": user_id, "e": expires}, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(payload))}"

    def user(self, token: str | None, now: float | None = None) -> str | None:
        """The user id a valid, unexpired token names; None for anything else."""
        if not token or len(token) > 2048 or token.count(".") != 1:
            return None
        payload, signature = token.split(".")
        try:
            valid = hmac.compare_digest(_unb64(signature), self._mac(payload))
            claims = json.loads(_unb64(payload)) if valid else None
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("u"), str) or not isinstance(claims.get("e"), int):
            return None
        if claims["e"] < (time.time() if now is None else now) or id_problem(claims["u"]) is not None:
            return None
        return str(claims["u"])

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()


def new_visitor_id() -> str:
    """An anonymous shopper's id: unguessable, so that nobody can read another visitor's shelves."""
    return f"visitor-{secrets.token_hex(8)}"


def session_secret(workspace: Path, given: str | None = None) -> bytes:
    """The signing secret: `given` (settings or $SHOPREC_SESSION_SECRET), else the workspace's own,
    made on first use (every process of the workspace reads the same one)."""
    if given or os.environ.get(SECRET_ENV):
        return (given or os.environ[SECRET_ENV]).encode()
    path = Path(workspace) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and never replaces a secret another process made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes().strip()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
