"""Sign in, register and sign out in a browser: the accounts service's sign-in session, held
in an HttpOnly cookie (see ``sessions``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from admitone.accounts import service as accounts_service
from admitone.accounts.schemas import LoginRequest, RegisterRequest
from admitone.core.errors import DomainError
from admitone.http.deps import AppSettings, Limiter, Uow, limit_sign_in
from admitone.web.forms import FieldErrors, domain_error, text, validation_errors
from admitone.web.routing import page_router
from admitone.web.sessions import SESSION_COOKIE, Browser, BrowserState, posted_form
from admitone.web.templating import render

router = page_router()

Next = Annotated[str | None, Query(max_length=500)]
_FIELDS = {"email": "email", "name": "name", "password": "password"}


def _safe_next(target: str | None) -> str:
    """Only a path of this site: ``//evil.example`` and ``https://...`` go home instead."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
async def login_page(request: Request, state: BrowserState, next: Next = None) -> Response:
    return _form(request, state, "login.html.j2", next)


@router.post("/login")
async def login(
    request: Request, uow: Uow, settings: AppSettings, limiter: Limiter, state: BrowserState
) -> Response:
    form = await posted_form(request, state)
    entered = {"email": text(form, "email")}
    target = _safe_next(text(form, "next"))
    try:
        body = LoginRequest(email=entered["email"], password=text(form, "password"))
    except ValidationError as exc:
        errors = validation_errors(exc, _FIELDS)
        return _form(
            request,
            state,
            "login.html.j2",
            target,
            errors=errors,
            entered=entered,
            status_code=422,
        )
    try:
        await limit_sign_in(request, limiter, body.email)
        _, pair = await accounts_service.login(
            uow, settings, email=body.email, password=body.password
        )
    except DomainError as exc:
        await uow.rollback()
        # Wrong email or wrong password: one message, next to the password, saying neither.
        errors = {"password" if exc.status_code == 401 else "": exc.message}
        return _form(
            request,
            state,
            "login.html.j2",
            target,
            errors=errors,
            entered=entered,
            status_code=exc.status_code,
        )
    state.sign_in(pair.refresh_token)
    return state.apply(RedirectResponse(target, 303))


@router.get("/register")
async def register_page(request: Request, state: BrowserState, next: Next = None) -> Response:
    return _form(request, state, "register.html.j2", next)


@router.post("/register")
async def register(
    request: Request, uow: Uow, settings: AppSettings, state: BrowserState
) -> Response:
    form = await posted_form(request, state)
    entered = {"email": text(form, "email"), "name": text(form, "name")}
    target = _safe_next(text(form, "next"))
    password = text(form, "password")
    try:
        body = RegisterRequest(email=entered["email"], name=entered["name"], password=password)
    except ValidationError as exc:
        errors = validation_errors(exc, _FIELDS)
        return _form(
            request,
            state,
            "register.html.j2",
            target,
            errors=errors,
            entered=entered,
            status_code=422,
        )
    try:
        await accounts_service.register(
            uow, settings, email=body.email, name=body.name, password=body.password
        )
        _, pair = await accounts_service.login(
            uow, settings, email=body.email, password=body.password
        )
    except DomainError as exc:
        await uow.rollback()
        errors = domain_error(exc, _FIELDS)
        return _form(
            request,
            state,
            "register.html.j2",
            target,
            errors=errors,
            entered=entered,
            status_code=exc.status_code,
        )
    state.sign_in(pair.refresh_token)
    return state.apply(RedirectResponse(target, 303))


@router.post("/logout")
async def logout(request: Request, uow: Uow, state: BrowserState) -> Response:
    await posted_form(request, state)
    raw = request.cookies.get(SESSION_COOKIE)
    if raw is not None and state.user is not None:
        await accounts_service.logout(uow, raw)
    state.sign_out()
    return state.apply(RedirectResponse("/", 303))


def _form(
    request: Request,
    state: Browser,
    template: str,
    next: str | None,
    *,
    errors: FieldErrors | None = None,
    entered: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        state,
        template,
        {"next": _safe_next(next), "errors": errors or {}, "entered": entered or {}},
        status_code=status_code,
    )
