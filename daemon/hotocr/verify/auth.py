"""Who may use the verification station, and protection against cross-site requests.

Every request carries the configured token, as ``Authorization: Bearer TOKEN`` (scripts)
or as a session cookie got by giving the token once on the login page (people). The
cookie is signed with a key made when the station starts, ``HttpOnly`` and
``SameSite=Strict``, and lasts ``SESSION_SECONDS``. A request that changes something and
comes with the cookie must also carry the page's CSRF token (``X-CSRF-Token``, derived
from the session) and must not come from another site (``Origin``, ``Sec-Fetch-Site``):
a form on another site cannot save, verify or teach anything. ``token = ""`` turns all of
this off, for a reverse proxy that authenticates in front (docs/operations.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

#: A login lasts this long.
SESSION_SECONDS = 12 * 3600
COOKIE = "hotocr_session"
CSRF_HEADER = "x-csrf-token"
#: The longest name a person may give on the login page.
MAX_USER_CHARS = 60


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str


class Keys:
    """The token, and the key sessions are signed with (new at each start)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._key = secrets.token_bytes(32)

    @property
    def open(self) -> bool:
        """No token: a reverse proxy in front authenticates."""
        return self.token == ""

    def token_ok(self, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def cookie_for(self, user: str, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        body = f"{expires}:{_b64(user.encode())}"
        return f"{body}:{self._sign(body)}"

    def session(self, cookie: str, now: float | None = None) -> Session | None:
        """The session a cookie stands for, or None (forged, changed, expired)."""
        body, _, signature = cookie.rpartition(":")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        expires, _, user = body.partition(":")
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return None
        try:
            name = base64.urlsafe_b64decode(user.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return Session(name, self._sign(f"csrf:{body}"))

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()


def clean_user(name: str) -> str:
    """A person's name as the record keeps it: printable, trimmed, short; "" for none."""
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:MAX_USER_CHARS]


def cross_site(origin: str | None, fetch_site: str | None, host: str | None) -> bool:
    """Whether a request that changes something came from another site."""
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    if origin is not None and origin != "null":
        return origin.split("://", 1)[-1] != (host or "")
    return origin == "null"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()
