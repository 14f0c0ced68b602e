"""Browser sessions and CSRF tokens for the web pages. The API never reads these cookies: it
authenticates with the Authorization header only.

The session cookie holds the secret of a server-side sign-in session (a refresh-token row), so
signing out revokes it and a copied cookie stops working too. Every form carries a CSRF token,
an HMAC of a random per-browser cookie (signed double submit): another site can make a browser
post a form but cannot read the cookie, so it cannot compute the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role, User
from admitone.config import Settings
from admitone.core.actor import STAFF_ROLES, Actor, set_actor
from admitone.core.errors import PermissionDenied
from admitone.core.ids import new_secret
from admitone.http.deps import get_runtime, get_uow

SESSION_COOKIE = "admitone_session"
CSRF_COOKIE = "admitone_csrf"
CSRF_FIELD = "csrf_token"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


class CsrfRefused(PermissionDenied):
    code = "csrf_failed"
    default_message = (
        "This form could not be accepted: it has expired or was not sent from this site. "
        "Go back, reload the page and try again."
    )


@dataclass
class Browser:
    """What a request's cookies say: who is signed in, and the CSRF secret of this browser."""

    settings: Settings
    user: User | None
    csrf_secret: str
    # Cookies to (re)set on the response: a new CSRF secret, a session to end.
    csrf_is_new: bool = False
    drop_session: bool = False
    sign_in_secret: str | None = field(default=None, repr=False)

    @property
    def csrf_token(self) -> str:
        return csrf_token(self.settings.signing_key, self.csrf_secret)

    @property
    def is_staff(self) -> bool:
        return self.user is not None and Role(self.user.role) in STAFF_ROLES

    def sign_in(self, session_secret: str) -> None:
        """Set the session cookie on the response, with a fresh CSRF secret: whatever an
        attacker planted before sign-in is worthless after it."""
        self.sign_in_secret = session_secret
        self.csrf_secret, self.csrf_is_new = new_secret(), True

    def sign_out(self) -> None:
        self.user, self.drop_session = None, True
        self.csrf_secret, self.csrf_is_new = new_secret(), True

    def apply(self, response: Response) -> Response:
        secure = self.settings.env == "production"
        if self.sign_in_secret is not None:
            response.set_cookie(
                SESSION_COOKIE,
                self.sign_in_secret,
                max_age=self.settings.refresh_token_days * 86400,
                httponly=True,
                samesite="lax",
                secure=secure,
            )
        elif self.drop_session:
            response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)
        if self.csrf_is_new:
            response.set_cookie(
                CSRF_COOKIE, self.csrf_secret, httponly=True, samesite="lax", secure=secure
            )
        return response


def csrf_token(secret_key: str, csrf_secret: str) -> str:
    digest = hmac.new(secret_key.encode(), b"csrf:" + csrf_secret.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


async def browser(request: Request) -> Browser:
    """Runs on every page. A session cookie that no longer opens a session is dropped."""
    settings = get_runtime(request).settings
    user: User | None = None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw is not None and _SECRET.match(raw):
        user = await accounts_service.session_user(get_uow(request), raw)
    if user is not None:
        set_actor(Actor(user.id, user.role))
    request.state.user = user  # the named rate limits key on the user, as for the API
    csrf = request.cookies.get(CSRF_COOKIE)
    state = Browser(settings, user, csrf or "", drop_session=raw is not None and user is None)
    if csrf is None or not _SECRET.match(csrf):
        state.csrf_secret, state.csrf_is_new = new_secret(), True
    return state


async def posted_form(request: Request, state: Browser) -> FormData:
    """The submitted form, once its CSRF token is checked (403 otherwise)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        state.csrf_is_new
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), state.csrf_token.encode())
    ):
        raise CsrfRefused()
    return form


BrowserState = Annotated[Browser, Depends(browser)]
