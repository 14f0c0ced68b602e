"""FastAPI dependencies: the unit of work, the signed-in user, roles and named rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role, User
from admitone.config import Settings
from admitone.core.actor import STAFF_ROLES, Actor, set_actor
from admitone.core.db import UnitOfWork
from admitone.core.emails import email_key
from admitone.core.errors import InvalidToken, NotAuthenticated, PermissionDenied, RateLimited
from admitone.core.security import decode_access_token
from admitone.http.pending_holds import PendingHolds
from admitone.http.ratelimit import RateLimiter, Verdict
from admitone.runtime import Runtime
from admitone.ticketing.purchase.batching import PurchaseGroups

F = TypeVar("F", bound=Callable[..., Any])
BEARER_SCHEME = "HTTPBearer"  # FastAPI names the OpenAPI security scheme after the class
_bearer = HTTPBearer(auto_error=False, description="An access token from /api/auth/login.")


def public(endpoint: F) -> F:
    """Mark an endpoint as reachable without signing in (authentication is otherwise global)."""
    endpoint.__admitone_public__ = True  # type: ignore[attr-defined]
    return endpoint


def is_public(route: object) -> bool:
    return bool(getattr(getattr(route, "endpoint", None), "__admitone_public__", False))


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = request.state.uow
    return uow


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """Runs on every API route. A presented token must be valid even on a public route: a
    client with a broken token learns it at once instead of silently acting as a guest."""
    if credentials is None:
        if not is_public(request.scope.get("route")):
            raise NotAuthenticated()
        request.state.user = None
        return None
    runtime = get_runtime(request)
    claims = decode_access_token(
        runtime.settings.signing_key, credentials.credentials, runtime.clock.now()
    )
    user = await accounts_service.get_user(get_uow(request), claims.user_id)
    if user is None:
        raise InvalidToken("The account of this token no longer exists.")
    request.state.user = user
    set_actor(Actor(user.id, user.role))
    return user


async def current_user(request: Request) -> User:
    user: User | None = getattr(request.state, "user", None)
    if user is None:
        raise NotAuthenticated()
    return user


async def optional_user(request: Request) -> User | None:
    user: User | None = getattr(request.state, "user", None)
    return user


def require_roles(*roles: Role) -> Callable[..., Awaitable[User]]:
    allowed = frozenset(role.value for role in roles)

    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in allowed:
            raise PermissionDenied()
        return user

    return check


def record_verdict(request: Request, verdict: Verdict) -> None:
    """Remember a limit's verdict; the middleware reports the tightest one in the headers."""
    request.scope.setdefault("state", {}).setdefault("rate_limits", []).append(verdict)


async def limit_sign_in(request: Request, limiter: RateLimiter, email: str) -> None:
    """The sign-in limits, per client and per account (the API's and the web page's)."""
    for item, key in (
        (limiter.login_per_ip, f"ip:{client_ip(request)}"),
        (limiter.login_per_account, f"account:{email_key(email)}"),
    ):
        verdict = await limiter.hit(item, "login", key)
        record_verdict(request, verdict)
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after, "Too many sign-in attempts. Try again later.")


async def _named_rate_limit(request: Request, name: str, item: RateLimitItem) -> None:
    """A named limit per signed-in user, or per address for a guest."""
    limiter = get_limiter(request)
    user: User | None = getattr(request.state, "user", None)
    who = f"user:{user.id}" if user else f"ip:{client_ip(request)}"
    verdict = await limiter.hit(item, name, who)
    record_verdict(request, verdict)
    if not verdict.allowed:
        raise RateLimited(verdict.retry_after)


async def strict_rate_limit(request: Request) -> None:
    """The named stricter limit for costly or dangerous actions (purchase, paying an order)."""
    await _named_rate_limit(request, "strict", get_limiter(request).strict)


async def support_rate_limit(request: Request) -> None:
    """Opening support requests and replying: a budget of its own, so a flood of requests
    does not eat the purchase budget, nor the other way round."""
    await _named_rate_limit(request, "support", get_limiter(request).support)


# FastAPI runs a plain ``def`` dependency in its thread pool: a thread hop per request for what
# is an attribute lookup. Routes depend on these coroutine forms instead.
async def _runtime(request: Request) -> Runtime:
    return get_runtime(request)


async def _settings(request: Request) -> Settings:
    return get_runtime(request).settings


async def _uow(request: Request) -> UnitOfWork:
    return get_uow(request)


async def _limiter(request: Request) -> RateLimiter:
    return get_limiter(request)


async def _purchases(request: Request) -> PurchaseGroups:
    purchases: PurchaseGroups = request.app.state.purchases
    return purchases


async def _pending_holds(request: Request) -> PendingHolds:
    holds: PendingHolds = request.app.state.pending_holds
    return holds


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
Uow = Annotated[UnitOfWork, Depends(_uow)]
AppSettings = Annotated[Settings, Depends(_settings)]
AppRuntime = Annotated[Runtime, Depends(_runtime)]
Purchases = Annotated[PurchaseGroups, Depends(_purchases)]
Limiter = Annotated[RateLimiter, Depends(_limiter)]
Holds = Annotated[PendingHolds, Depends(_pending_holds)]
StaffUser = Annotated[User, Depends(require_roles(*map(Role, sorted(STAFF_ROLES))))]
StrictRateLimit = Depends(strict_rate_limit)
SupportRateLimit = Depends(support_rate_limit)
